/**
 * nerdctld as deploy/kubernetes deploys it, on two stand-in nodes (engine
 * containers whose containerd has the standard paths, namespace k8s.io; see
 * support/kube-nodes.ts): the image built from deploy/kubernetes through
 * nerdctld's own build endpoint on a base made here (the host's node and its
 * libraries, and busybox), its container started on each node as the
 * DaemonSet describes it (its args, its hostPath mounts, the node's network
 * and pids), and the docker CLI on this host using each node's socket through
 * a docker context of its own.
 *
 * Not like a cluster: no kubelet (the node's nerdctld starts the container),
 * and capabilities in place of `privileged`, which these VMs refuse.
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildDaemon, pingSocket, REPO_ROOT } from "./support/daemon.ts";
import { docker as dockerAt, type CliResult } from "./support/docker-cli.ts";
import { ensureDockerd, type DockerEngine } from "./support/dockerd.ts";
import { ensureEngineImage } from "./support/engine-image.ts";
import { writeBusyboxImage, writeDynamicProgramImage } from "./support/images.ts";
import { packSources } from "./support/installed.ts";
import { startKubeNode, type KubeNode } from "./support/kube-nodes.ts";
import { mountedUnder } from "./support/providers.ts";

const DOCKER = "/usr/local/bin/docker";
const MANIFEST = join(REPO_ROOT, "deploy", "kubernetes", "nerdctld.yaml");
const IMAGE = "nerdctld:local";
const BASE_IMAGE = "nerdctld-node-base:test";
const SETUP_TIMEOUT_MS = 900_000;
const SOCKET_TIMEOUT_MS = 60_000;

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  containers: { name: string; image: string; args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
  volumes: { name: string; hostPath: { path: string; type?: string } }[];
}

let dockerd: DockerEngine | undefined;
let work: string;
let pod: PodSpec;
const nodes: KubeNode[] = [];
/** A docker CLI config dir holding the contexts node1 and node2. */
let contexts: string;

const admin = (node: KubeNode, args: string[], env: Record<string, string> = {}) => dockerAt(DOCKER, node.adminHost, args, undefined, env, 600_000);
/** The DaemonSet's socket on the node, as this host reaches it. */
const nodeSocket = (node: KubeNode) => join(node.hostDir("/run/nerdctld"), "nerdctl.sock");
const viaContext = (context: string, args: string[]) =>
  execa(DOCKER, ["--context", context, ...args], { env: { DOCKER_CONFIG: contexts, DOCKER_HOST: "", DOCKER_CLI_HINTS: "false" }, reject: false, timeout: 120_000 });

function mustSucceed(what: string, result: CliResult): CliResult {
  if (result.exitCode !== 0) throw new Error(`${what} failed (${result.exitCode}):\n${result.stderr}`);
  return result;
}

/** `docker run` of the DaemonSet's container on a node, as its kubelet would start it. */
async function runDaemonSet(node: KubeNode): Promise<void> {
  const [container] = pod.containers;
  const volumes = new Map(pod.volumes.map((volume) => [volume.name, volume.hostPath]));
  const binds = container!.volumeMounts.map((mount) => `${volumes.get(mount.name)!.path}:${mount.mountPath}`);
  // The kubelet makes DirectoryOrCreate paths before it starts the pod.
  const toCreate = pod.volumes.filter((volume) => volume.hostPath.type === "DirectoryOrCreate").map((volume) => volume.hostPath.path);
  const made = await node.container.exec(["mkdir", "-p", ...toCreate]);
  if (made.exitCode !== 0) throw new Error(`mkdir on ${node.name}: ${made.output}`);
  mustSucceed(`starting the DaemonSet's container on ${node.name}`, await admin(node, [
    "run", "-d", "--name", "nerdctld",
    ...(pod.hostNetwork ? ["--network", "host"] : []),
    ...(pod.hostPID ? ["--pid", "host"] : []),
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    ...binds.flatMap((bind) => ["-v", bind]),
    container!.image,
    ...container!.args,
  ]));
  const deadline = Date.now() + SOCKET_TIMEOUT_MS;
  while (!(await pingSocket(nodeSocket(node)))) {
    if (Date.now() > deadline) {
      const logs = await admin(node, ["logs", "nerdctld"]);
      throw new Error(`the DaemonSet's nerdctld on ${node.name} did not answer within ${SOCKET_TIMEOUT_MS / 1000} s:\n${logs.stdout}\n${logs.stderr}`);
    }
    await sleep(250);
  }
}

beforeAll(async () => {
  const documents = parseAllDocuments(await readFile(MANIFEST, "utf8")).map((document) => document.toJS() as { kind: string; spec: { template: { spec: PodSpec } } });
  pod = documents.find((document) => document.kind === "DaemonSet")!.spec.template.spec;
  // Short: the sockets' paths under it must stay within 107 bytes.
  work = await mkdtemp("/tmp/nk8s-");
  dockerd = await ensureDockerd();
  const [image, tarball] = await Promise.all([ensureEngineImage(dockerd), packSources(work), buildDaemon()]);
  const context = join(work, "context");
  const contextMade = execa("bash", [join(REPO_ROOT, "deploy", "kubernetes", "image-context.sh"), tarball, context], { stdin: "ignore" });
  for (const name of ["node1", "node2"]) nodes.push(await startKubeNode(dockerd, image, work, name));
  await contextMade;

  const images = join(work, "images");
  await mkdir(images);
  await writeBusyboxImage(join(images, "busybox.tar"));
  await writeDynamicProgramImage(join(images, "base.tar"), "/usr/bin/node", BASE_IMAGE);
  const [node1, node2] = nodes as [KubeNode, KubeNode];
  for (const node of nodes) mustSucceed(`busybox on ${node.name}`, await admin(node, ["load", "-i", join(images, "busybox.tar")]));
  mustSucceed("the base image", await admin(node1, ["load", "-i", join(images, "base.tar")]));
  mustSucceed("docker build", await admin(node1, ["build", "--build-arg", `BASE=${BASE_IMAGE}`, "-t", IMAGE, context], { DOCKER_BUILDKIT: "0" }));
  // The image goes to the other node as a registry would take it there.
  mustSucceed("docker save", await admin(node1, ["save", "-o", join(images, "nerdctld.tar"), IMAGE]));
  mustSucceed("docker load", await admin(node2, ["load", "-i", join(images, "nerdctld.tar")]));
  for (const node of nodes) await runDaemonSet(node);

  contexts = join(work, "docker-config");
  await mkdir(contexts);
  await writeFile(join(contexts, "config.json"), "{}");
  for (const node of [node1, node2]) {
    const created = await viaContext("default", ["context", "create", node.name, "--docker", `host=unix://${nodeSocket(node)}`]);
    if (created.exitCode !== 0) throw new Error(`docker context create ${node.name}: ${created.stderr}`);
  }
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  // Each node's nerdctld stops its containers (the DaemonSet's among them) and its containerd.
  for (const node of nodes) await node.stop().catch((error: unknown) => console.error(`stopping ${node.name}: ${String(error)}`));
  if (work) {
    const mounted = await mountedUnder(work);
    if (mounted.length > 0) console.error(`not removing ${work}: still mounted: ${mounted.join(", ")}`);
    else await execa("rm", ["-rf", "--one-file-system", work]);
  }
  await dockerd?.stop();
}, SETUP_TIMEOUT_MS);

describe("the DaemonSet's image on a node's containerd (k8s.io)", () => {
  it("is built from deploy/kubernetes through nerdctld's build endpoint", async () => {
    const inspected = mustSucceed("image inspect", await admin(nodes[0]!, ["image", "inspect", "--format", "{{json .Config.Entrypoint}}", IMAGE]));
    expect(JSON.parse(inspected.stdout)).toEqual(["/usr/local/bin/nerdctld-entrypoint"]);
  });

  it("serves the node's k8s.io namespace: docker ps lists the DaemonSet's own container", async () => {
    const ps = await viaContext("node1", ["ps", "--format", "{{.Names}} {{.Image}}"]);
    expect(ps.stderr).toBe("");
    expect(ps.stdout.split("\n")).toContain(`nerdctld ${IMAGE}`);
    const info = await viaContext("node1", ["info", "--format", "{{.Name}}"]);
    expect(info.stdout).toBe("node1");
  });

  it("runs a container: docker run --rm busybox echo hi", async () => {
    const run = await execa(DOCKER, ["run", "--rm", "busybox", "echo", "hi"], {
      env: { DOCKER_HOST: `unix://${nodeSocket(nodes[0]!)}`, DOCKER_CONFIG: contexts, DOCKER_CLI_HINTS: "false" },
      reject: false,
      timeout: 120_000,
    });
    expect(run.stderr).toBe("");
    expect(run).toMatchObject({ exitCode: 0, stdout: "hi" });
    const left = await viaContext("node1", ["ps", "-a", "--filter", "ancestor=busybox", "--format", "{{.Names}}"]);
    expect(left.stdout).toBe("");
  });
});

describe("one docker context per node", () => {
  it("docker --context nodeN ps sees that node's containers only", async () => {
    for (const node of nodes) {
      const run = await viaContext(node.name, ["run", "-d", "--name", `on-${node.name}`, "busybox", "sleep", "600"]);
      expect(run.stderr).toBe("");
      expect(run.exitCode).toBe(0);
    }
    for (const [mine, other] of [["node1", "node2"], ["node2", "node1"]] as const) {
      const ps = await viaContext(mine, ["ps", "--format", "{{.Names}}"]);
      expect(ps.exitCode).toBe(0);
      const names = ps.stdout.split("\n");
      expect(names).toContain(`on-${mine}`);
      expect(names).not.toContain(`on-${other}`);
      // The other node's DaemonSet container is that node's; this one sees its own.
      expect(names).toContain("nerdctld");
    }
    const listed = await viaContext("default", ["context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}}"]);
    expect(listed.stdout.split("\n")).toEqual(
      expect.arrayContaining(nodes.map((node) => `${node.name} unix://${nodeSocket(node)}`)),
    );
  });
});
