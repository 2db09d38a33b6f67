/**
 * Stand-ins for Kubernetes nodes: engine containers on the test Docker engine
 * whose containerd has containerd's standard layout (socket and state in
 * /run/containerd, root in /var/lib/containerd, nerdctl's data in
 * /var/lib/nerdctl), namespace k8s.io. A nerdctld with a managed engine laid out
 * that way starts it, and plays the kubelet's part: images go in and the
 * DaemonSet's container is started through its socket (the node's "admin"
 * socket, here). The DaemonSet's own socket directory, /run/nerdctld, is a
 * directory of this host.
 */
import { createWriteStream, existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { StartedTestContainer } from "testcontainers";
import { pingSocket } from "./daemon.ts";
import type { DockerEngine } from "./dockerd.ts";
import { logTail, nerdctldContainer, withTestcontainersEnv } from "./providers.ts";

const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;
/** Where a node's files from this host are mounted (image archives, build contexts). */
export const NODE_SHARE_DIR = "/share";
const ADMIN_DIR = "/run/nerdctld-admin";

export interface KubeNode {
  name: string;
  /** The admin nerdctld's DOCKER_HOST, as seen from this host (the kubelet's way in). */
  adminHost: string;
  /** This host's directory mounted at the node's path (for the node's hostPath volumes). */
  hostDir(nodePath: string): string;
  container: StartedTestContainer;
  stop(): Promise<void>;
}

/** Node paths that are directories of this host: containerd's and nerdctl's data (not on overlayfs), and the sockets the tests reach. */
const HOST_DIRS = ["/var/lib/containerd", "/var/lib/buildkit", "/var/lib/nerdctl", ADMIN_DIR, "/run/nerdctld", NODE_SHARE_DIR];

export async function startKubeNode(docker: DockerEngine, image: string, work: string, name: string): Promise<KubeNode> {
  const root = join(work, name);
  const hostDir = (nodePath: string) => {
    if (!HOST_DIRS.includes(nodePath)) throw new Error(`${nodePath} of ${name} is not a directory of this host`);
    return join(root, nodePath.replaceAll("/", "_"));
  };
  for (const dir of HOST_DIRS) await mkdir(hostDir(dir), { recursive: true });
  const logFile = join(root, "admin.log");
  const log = createWriteStream(logFile);
  let exited = false;
  const definition = nerdctldContainer(
    image,
    [
      "--engine", "managed",
      // containerd's own defaults: /run/containerd, /var/lib/containerd, /var/lib/nerdctl.
      "--engine-state-dir", "/run",
      "--engine-data-dir", "/var/lib",
      "--namespace", "k8s.io",
      "-H", `unix://${ADMIN_DIR}/nerdctl.sock`,
    ],
    HOST_DIRS.map((dir) => ({ source: hostDir(dir), target: dir, mode: "rw" as const })),
  )
    .withName(`nerdctld-e2e-${name}-${work.slice(-6)}`)
    .withHostname(name)
    .withLogConsumer((stream: Readable) => {
      stream.pipe(log);
      stream.once("end", () => (exited = true));
    })
    .withStartupTimeout(READY_TIMEOUT_MS);
  const container = await withTestcontainersEnv(docker, () => definition.start());
  const stop = () => container.stop({ timeout: STOP_TIMEOUT_MS, remove: true }).then(() => undefined);
  try {
    const socket = join(hostDir(ADMIN_DIR), "nerdctl.sock");
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(existsSync(socket) && (await pingSocket(socket)))) {
      if (exited) throw new Error(`${name}'s nerdctld exited while starting:\n${await logTail(logFile)}`);
      if (Date.now() > deadline) throw new Error(`${name}'s nerdctld did not answer within ${READY_TIMEOUT_MS / 1000} s:\n${await logTail(logFile)}`);
      await sleep(200);
    }
    return { name, adminHost: `unix://${socket}`, hostDir, container, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
