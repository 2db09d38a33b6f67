/**
 * Where the e2e suites get their engine from. The same suites run on either:
 *
 * - "testcontainers": nerdctld and its managed engine in a container on a
 *   Docker engine (an existing one, or Debian's dockerd started here), its
 *   socket reaching the host through a bind-mounted directory;
 * - "host": nerdctld and its managed engine on this host, in temp dirs.
 */
import { createWriteStream, existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Readable } from "node:stream";
import { execa } from "execa";
import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { engineEnvironment, resolveEngineLayout, type HostProbe } from "../../lib/engine/layout.ts";
import { buildDaemon, pingSocket, REPO_ROOT, seedEngine, startDaemonUnderTest } from "./daemon.ts";
import { dockerCli, ensureDockerd, reachableDockerSocket, type DockerEngine } from "./dockerd.ts";
import { containerTimeoutPrefix, runEngineNerdctl, type EngineAccess, type NerdctlOptions, type NerdctlResult } from "./engine-client.ts";
import { ensureEngineImage, HOST_NODE } from "./engine-image.ts";
import { writeBusyboxImage } from "./images.ts";

export type ProviderName = "host" | "testcontainers";
export const PROVIDER_NAMES: readonly ProviderName[] = ["host", "testcontainers"];

export interface EngineProvider {
  name: ProviderName;
  /** DOCKER_HOST of nerdctld, as seen from this host. */
  dockerHost: string;
  /** Runs nerdctl against the provider's engine (never throws on a non-zero exit). */
  nerdctl(args: string[], options?: NerdctlOptions): Promise<NerdctlResult>;
  /** The same, as plain data for test files (see engine-client.ts). */
  access: EngineAccess;
  /** Where a path of the engine's filesystem is on this host; null when it is not shared. */
  hostPath(enginePath: string): string | null;
  /** Stops nerdctld and its engine; nothing of the provider is left running or mounted. */
  stop(): Promise<void>;
}

/**
 * NERDCTLD_E2E_PROVIDER when set; otherwise testcontainers when a Docker engine
 * answers already (DOCKER_HOST or /var/run/docker.sock), host when none does.
 * Starting a dockerd just to decide is left to runs that ask for it (CI sets
 * the variable).
 */
export async function chooseProvider(env: Readonly<Record<string, string | undefined>> = process.env): Promise<ProviderName> {
  const requested = env.NERDCTLD_E2E_PROVIDER;
  if (requested) {
    if ((PROVIDER_NAMES as readonly string[]).includes(requested)) return requested as ProviderName;
    throw new Error(`NERDCTLD_E2E_PROVIDER=${requested}: expected one of ${PROVIDER_NAMES.join(", ")}`);
  }
  return (await reachableDockerSocket()) === null ? "host" : "testcontainers";
}

export function startProvider(name: ProviderName): Promise<EngineProvider> {
  return name === "host" ? startHostProvider() : startTestcontainersProvider();
}

/** Throws with nerdctl's stderr unless it succeeded (for setup steps). */
function mustSucceed(run: (args: string[]) => Promise<NerdctlResult>): (args: string[]) => Promise<NerdctlResult> {
  return async (args) => {
    const result = await run(args);
    if (result.exitCode !== 0) throw new Error(`nerdctl ${args.join(" ")} failed (${result.exitCode}): ${result.stderr.trim()}`);
    return result;
  };
}

// --- host --------------------------------------------------------------------------

async function startHostProvider(): Promise<EngineProvider> {
  const daemon = await startDaemonUnderTest();
  const access: EngineAccess = { kind: "host", nerdctl: daemon.nerdctl, env: daemon.engineEnv };
  return {
    name: "host",
    dockerHost: daemon.dockerHost,
    access,
    nerdctl: (args, options) => runEngineNerdctl(access, args, options),
    hostPath: (enginePath) => enginePath,
    stop: () => daemon.stop(),
  };
}

// --- testcontainers ----------------------------------------------------------------

/** The engine binaries inside the container (install-engine.sh's tree, mounted read-only). */
const CONTAINER_ENGINE_HOME = "/opt/nerdctld-engine";
const CONTAINER_BIN_DIR = `${CONTAINER_ENGINE_HOME}/current/bin`;
const CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CONTAINER_NODE = "/usr/bin/node";
/** nerdctld's socket directory: a directory, not the socket file, is mounted (the socket is made after start). */
const CONTAINER_RUN_DIR = "/run/nerdctl";
/** Parent of the managed engine's default data dir (/var/lib/nerdctld/engine): on the host's ext4, not overlayfs. */
const CONTAINER_DATA_DIR = "/var/lib/nerdctld";
/** Files the host hands to the engine (image archives, stdin for nerdctl). */
const CONTAINER_SHARE_DIR = "/nerdctld-share";
const READY_TIMEOUT_MS = 120_000;
/** The daemon gives running containers dockerd's 10 s, then stops containerd and buildkitd. */
const STOP_TIMEOUT_MS = 60_000;

/** Only the tree mounted at /opt/nerdctld-engine and Debian's CNI plugins exist in the container. */
const containerProbe: HostProbe = {
  env: {},
  isDirectory: (path) => path === CONTAINER_BIN_DIR,
  isFile: () => false,
};

/** The environment that points nerdctl inside the container at the daemon's managed engine (default layout). */
export function containerEngineEnv(): Record<string, string> {
  return engineEnvironment(resolveEngineLayout({}, containerProbe), CONTAINER_PATH);
}

/** GenericContainer with the container's cgroup namespace set to the host's, which Testcontainers has no option for. */
class EngineContainer extends GenericContainer {
  withHostCgroupns(): this {
    // API 1.41's HostConfig.CgroupnsMode; dockerode's types predate it.
    Object.assign(this.hostConfig, { CgroupnsMode: "host" });
    return this;
  }

  /**
   * /proc/sys writable (docker's `--security-opt systempaths=unconfined`): the
   * CNI portmap plugin sets the bridge's route_localnet there to publish ports;
   * the network sysctls it writes are the container's own network namespace's.
   */
  withWritableProcSys(): this {
    Object.assign(this.hostConfig, { ReadonlyPaths: [], MaskedPaths: [] });
    return this;
  }
}

type BindMount = { source: string; target: string; mode: "ro" | "rw" };

/**
 * A container running nerdctld (with the given arguments) under tini, which
 * forwards SIGTERM and reaps the orphaned shims, with what a containerd nested
 * in it needs (`--privileged` fails on these VMs) and, read-only, the engine
 * programs, the project and node; `mounts` besides.
 */
export function nerdctldContainer(image: string, args: string[], mounts: BindMount[]): EngineContainer {
  return new EngineContainer(image)
    .withEntrypoint(["/usr/bin/tini", "--"])
    .withCommand([CONTAINER_NODE, join(REPO_ROOT, "dist", "bin", "nerdctld.js"), ...args])
    .withAddedCapabilities("ALL")
    .withDroppedCapabilities("SYS_RESOURCE")
    .withSecurityOpt("seccomp=unconfined", "apparmor=unconfined")
    .withHostCgroupns()
    .withWritableProcSys()
    .withBindMounts([
      { source: "/sys/fs/cgroup", target: "/sys/fs/cgroup", mode: "rw" },
      { source: process.env.NERDCTLD_ENGINE_HOME || CONTAINER_ENGINE_HOME, target: CONTAINER_ENGINE_HOME, mode: "ro" },
      // Same absolute path: dist/ resolves node_modules and package.json as on the host.
      { source: REPO_ROOT, target: REPO_ROOT, mode: "ro" },
      { source: HOST_NODE, target: CONTAINER_NODE, mode: "ro" },
      ...mounts,
    ]);
}

export async function mountedUnder(dir: string): Promise<string[]> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  return mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mountPoint): mountPoint is string => mountPoint === dir || Boolean(mountPoint?.startsWith(`${dir}/`)));
}

/**
 * Testcontainers reads DOCKER_HOST once, on first use, and caches the client;
 * Ryuk cannot run here (its image cannot be pulled). Both are set just for that
 * first use, so the vitest process keeps the caller's environment.
 */
export async function withTestcontainersEnv<T>(docker: DockerEngine, start: () => Promise<T>): Promise<T> {
  const saved = { DOCKER_HOST: process.env.DOCKER_HOST, TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED };
  process.env.DOCKER_HOST = docker.dockerHost;
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  try {
    return await start();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

export async function logTail(logFile: string, lines = 60): Promise<string> {
  const text = await readFile(logFile, "utf8").catch(() => "(no log)");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function startTestcontainersProvider(): Promise<EngineProvider> {
  const docker = await ensureDockerd();
  let work: string | undefined;
  let container: StartedTestContainer | undefined;

  const stop = async () => {
    const problems: string[] = [];
    if (container) {
      // SIGTERM to tini, forwarded to nerdctld, which stops its engine; remove drops the container's mounts.
      await container.stop({ timeout: STOP_TIMEOUT_MS, remove: true }).catch((error: unknown) => problems.push(String(error)));
      container = undefined;
    }
    if (work) {
      // The daemon's log, kept where the run was asked to keep it (the rest of work/ goes).
      const keepLog = process.env.NERDCTLD_E2E_DAEMON_LOG;
      if (keepLog) await copyFile(join(work, "nerdctld.log"), keepLog).catch((error: unknown) => problems.push(String(error)));
      const mounted = await mountedUnder(work);
      if (mounted.length > 0) problems.push(`not removing ${work}: still mounted: ${mounted.join(", ")}`);
      // data/ holds root-owned overlay dirs the engine made; nothing is mounted there from the host's view.
      else await execa("rm", ["-rf", "--one-file-system", work]);
    }
    await docker.stop().catch((error: unknown) => problems.push(String(error)));
    if (problems.length > 0) throw new Error(`stopping the testcontainers provider:\n${problems.join("\n")}`);
  };

  try {
    const startedAt = Date.now();
    const [image] = await Promise.all([ensureEngineImage(docker), buildDaemon()]);
    // Short: the socket path (work/run/nerdctl.sock) must stay under 108 bytes.
    work = await mkdtemp("/tmp/ndt-");
    const runDir = join(work, "run");
    const dataDir = join(work, "data");
    const shareDir = join(work, "share");
    for (const dir of [runDir, dataDir, shareDir]) await mkdir(dir);
    const socketPath = join(runDir, "nerdctl.sock");
    const logFile = join(work, "nerdctld.log");
    const log = createWriteStream(logFile);
    let exited = false;

    const definition = nerdctldContainer(image, ["--engine", "managed", "-H", `unix://${CONTAINER_RUN_DIR}/nerdctl.sock`, "--debug"], [
      { source: runDir, target: CONTAINER_RUN_DIR, mode: "rw" },
      { source: dataDir, target: CONTAINER_DATA_DIR, mode: "rw" },
      { source: shareDir, target: CONTAINER_SHARE_DIR, mode: "rw" },
    ])
      .withName(`nerdctld-e2e-${work.slice("/tmp/ndt-".length)}`)
      .withLogConsumer((stream: Readable) => {
        stream.pipe(log);
        stream.once("end", () => (exited = true));
      })
      .withStartupTimeout(READY_TIMEOUT_MS);
    container = await withTestcontainersEnv(docker, () => definition.start());
    const started = container;

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(existsSync(socketPath) && (await pingSocket(socketPath)))) {
      if (exited) throw new Error(`nerdctld's container exited while starting:\n${await logTail(logFile)}`);
      if (Date.now() > deadline) {
        throw new Error(`nerdctld did not answer on ${socketPath} within ${READY_TIMEOUT_MS / 1000} s:\n${await logTail(logFile)}`);
      }
      await sleep(200);
    }

    const env = containerEngineEnv();
    const nerdctlPath = join(CONTAINER_BIN_DIR, "nerdctl");
    const access: EngineAccess = {
      kind: "container",
      docker: dockerCli(),
      dockerHost: docker.dockerHost,
      containerId: started.getId(),
      daemonSocket: `${CONTAINER_RUN_DIR}/nerdctl.sock`,
      nerdctl: nerdctlPath,
      env,
    };
    let inputs = 0;
    const nerdctl = async (args: string[], options: NerdctlOptions = {}): Promise<NerdctlResult> => {
      const argv = [...containerTimeoutPrefix(), nerdctlPath, ...(options.namespace ? ["--namespace", options.namespace] : []), ...args];
      let command = argv;
      if (options.input !== undefined) {
        // Testcontainers' exec attaches no stdin: the input goes through the shared dir.
        const name = `stdin-${++inputs}`;
        await writeFile(join(shareDir, name), options.input);
        command = ["/bin/sh", "-c", `exec "$@" < ${CONTAINER_SHARE_DIR}/${name}`, "sh", ...argv];
      }
      const result = await started.exec(command, { env });
      // As execa (the host provider, engineNerdctl) gives it: without the final newline.
      const trim = (text: string) => text.replace(/\r?\n$/, "");
      return { stdout: trim(result.stdout), stderr: trim(result.stderr), exitCode: result.exitCode };
    };
    const mounts: [string, string][] = [
      [CONTAINER_RUN_DIR, runDir],
      [CONTAINER_DATA_DIR, dataDir],
      [CONTAINER_SHARE_DIR, shareDir],
    ];
    const hostPath = (enginePath: string): string | null => {
      for (const [inside, outside] of mounts) {
        const rest = relative(inside, enginePath);
        if (!rest.startsWith("..") && !rest.startsWith("/")) return join(outside, rest);
      }
      return null;
    };

    await writeBusyboxImage(join(shareDir, "busybox.tar"));
    await seedEngine(mustSucceed(nerdctl), `${CONTAINER_SHARE_DIR}/busybox.tar`);
    console.error(`nerdctld e2e: testcontainers provider ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (container ${started.getId().slice(0, 12)})`);
    return { name: "testcontainers", dockerHost: `unix://${socketPath}`, access, nerdctl, hostPath, stop };
  } catch (error) {
    await stop().catch((stopError: unknown) => console.error(`nerdctld e2e: cleanup after a failed start: ${String(stopError)}`));
    throw error;
  }
}
