import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "./support/daemon.ts";
import { pushBusybox, startEngineRegistry, type EngineRegistry } from "./support/engine-registry.ts";
import { configDir, MATRIX_PREFIX, NAMESPACES } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

/**
 * docker-py (the `docker` package on PyPI) as a client of nerdctld, from the
 * venv scripts/setup.sh makes: each test runs one scenario of
 * support/docker-py-scenarios.py with DOCKER_HOST pointing at the daemon, and
 * asserts on what the scenario saw. In k8s.io, docker-py sends the namespace
 * header from the docker config's HttpHeaders, as the docker CLI does.
 */
const dockerHost = inject("dockerHost");
const PYTHON = join(REPO_ROOT, "node_modules/.cache/docker-py/bin/python");
const SCENARIOS = join(import.meta.dirname, "support/docker-py-scenarios.py");

let work: string;
let registry: EngineRegistry;
let remote: string;

/** The installed docker-py's major version, for the matrix column. */
const installed = await execa(PYTHON, ["-c", "import docker; print(docker.__version__)"], { reject: false });
if (installed.exitCode !== 0) throw new Error(`docker-py is not installed in ${PYTHON} (scripts/setup.sh --for-tests installs it): ${installed.stderr || installed.message}`);
const major = String(installed.stdout).split(".")[0];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-docker-py-"));
  registry = await startEngineRegistry({ label: "docker-py", work, dockerHost });
  remote = `${registry.host}/docker-py/busybox:v1`;
  await pushBusybox(dockerHost, remote);
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs one scenario in a namespace; what it printed, parsed (its traceback is the failure otherwise). */
async function runScenario(namespace: string, name: string): Promise<Record<string, unknown>> {
  const result = await execa(PYTHON, [SCENARIOS, name], {
    env: { DOCKER_HOST: dockerHost, DOCKER_CONFIG: configDir(namespace), E2E_REGISTRY: registry.host, E2E_REMOTE: remote },
    reject: false,
    timeout: 110_000,
  });
  if (result.exitCode !== 0) throw new Error(`docker-py scenario ${name} failed (${result.exitCode}):\n${result.stderr}`);
  return JSON.parse(String(result.stdout)) as Record<string, unknown>;
}

describe.each(NAMESPACES)(`${MATRIX_PREFIX} docker-py-${major} %s`, (namespace) => {
  const scenario = (name: string) => runScenario(namespace, name);

  beforeAll(async () => {
    await seedNamespace(namespace);
  });

  it("ping, version, info", async () => {
    const seen = await scenario("ping-version-info");
    expect(seen).toMatchObject({ ping: true, version: { ApiVersion: "1.43", MinAPIVersion: "1.24", Os: "linux" }, containers_add_up: true });
    expect(seen.components).toEqual(expect.arrayContaining(["containerd", "runc", "buildkit", "nerdctl"]));
    expect(seen.images).toBeGreaterThan(0);
  });

  it('API version: version="auto" takes the daemon\'s, a pinned one is used', async () => {
    expect(await scenario("api-version")).toEqual({
      auto: "1.43",
      default: "1.43",
      pinned: "1.41",
      pinned_lists: true,
      too_new: { status: 400, type: "APIError", explanation: expect.stringMatching(/client version 1\.99 is too new\. Maximum supported API version is 1\.43/) },
    });
  });

  it("containers.run: in the foreground, with and without remove", async () => {
    expect(await scenario("run-foreground")).toEqual({
      output: "out\n",
      both: ["err", "out"],
      failed: { exit_status: 3, stderr: "failing\n" },
      left: [],
    });
  });

  it("containers.run: detached, and detached with remove", async () => {
    expect(await scenario("run-detached")).toEqual({
      status: "running",
      name: "e2e-dockerpy-detached",
      listed: true,
      image: ["busybox:latest"],
      auto_removed: { exit: 0, gone: true },
    });
  });

  it("containers.create, start, stop, remove", async () => {
    expect(await scenario("create-start-stop-remove")).toEqual({
      states: ["created", "running", "exited"],
      gone: { status: 404, type: "NotFound", explanation: "No such container: e2e-dockerpy-lifecycle" },
    });
  });

  it("logs: followed as a stream, stdout and stderr apart, tail, timestamps", async () => {
    expect(await scenario("logs")).toEqual({
      streamed: ["err1", "out1", "out2"],
      stdout: "out1\nout2\n",
      stderr: "err1\n",
      tail: "out2\n",
      timestamps: "20",
    });
  });

  it("attach: a demultiplexed stream from start to exit", async () => {
    expect(await scenario("attach")).toEqual({ stdout: "out\nout2\n", stderr: "err\n", exit: 0 });
  });

  it("exec_run: demux, exit code, environment, user, workdir, stream", async () => {
    expect(await scenario("exec-run")).toEqual({
      demuxed: { exit_code: 3, stdout: "out\n", stderr: "err\n" },
      merged: { exit_code: 0, output: "out\n" },
      environment: "hi nobody /tmp\n",
      streamed: "one\ntwo\n",
    });
  });

  it("put_archive, get_archive", async () => {
    expect(await scenario("archives")).toEqual({
      put: true,
      stat: { name: "app.ini", size: 16, mode: 0o640 },
      member: { mode: 0o640, size: 16 },
      content: "[app]\nmode=test\n",
      missing: 404,
    });
  });

  it("wait, kill", async () => {
    expect(await scenario("wait-and-kill")).toEqual({
      waited: 5,
      killed: 137,
      state: "exited",
      kill_stopped: 409,
    });
  });

  it("stats: the first sample of the stream, and one sample", async () => {
    expect(await scenario("stats")).toEqual({ id: true, name: expect.stringMatching(/^\//), memory: true, pids: 1, read: true, one_shot_cpu: true });
  });

  it("remove: a running container needs force", async () => {
    expect(await scenario("remove")).toEqual({ refused: 409, gone: "NotFound" });
  });

  it("images.pull from a registry, with a progress stream", async () => {
    const seen = await scenario("pull");
    expect(seen).toMatchObject({ first: "Pulling from docker-py/busybox", errors: [], tagged: true });
    expect(seen.statuses).toEqual([expect.stringMatching(/^Digest: sha256:[0-9a-f]{64}$/), `Status: Downloaded newer image for ${remote}`]);
  });

  it("images.build from an in-memory context (classic builder)", async () => {
    const seen = await scenario("build");
    expect(seen).toMatchObject({
      tags: ["e2e-dockerpy-built:v1"],
      labels: { "e2e.client": "docker-py" },
      output: "built by docker-py\n",
      other_context: "BUILT BY DOCKER-PY\n",
      dockerfile_only: "one\n",
    });
    expect(seen.steps).toContain("Successfully tagged e2e-dockerpy-built:v1");
  });

  it("image tag, then push to a registry", async () => {
    expect(await scenario("tag-and-push")).toEqual({
      tagged: true,
      errors: [],
      aux: { Tag: "v2", Digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), Size: expect.any(Number) },
      pulled_back: true,
    });
  });

  it("image save, then images.load", async () => {
    expect(await scenario("save-and-load")).toEqual({ has_manifest: true, gone: "ImageNotFound", loaded: [["busybox:latest", "e2e-dockerpy-saved:v1"]] });
  });

  it("images.get, images.list, history", async () => {
    expect(await scenario("image-inspect")).toEqual({ tags: true, id: true, os: "linux", listed: true, history: true, missing: "ImageNotFound" });
  });

  it("volumes: create, list, use, remove", async () => {
    expect(await scenario("volumes")).toEqual({
      name: "e2e-dockerpy-vol",
      driver: "local",
      labels: { "e2e.client": "docker-py" },
      listed: ["e2e-dockerpy-vol"],
      read: "kept\n",
      refused: 409,
      gone: "NotFound",
    });
  });

  it("networks: create, list, run a container on it, remove", async () => {
    expect(await scenario("networks")).toEqual({
      name: "e2e-dockerpy-net",
      driver: "bridge",
      listed: ["e2e-dockerpy-net"],
      address: 4,
      containers: true,
      gone: "NotFound",
    });
  });

  it("events: a container's life as it happens", async () => {
    const seen = await scenario("events");
    expect(seen.actions).toEqual(expect.arrayContaining(["create", "start", "die"]));
    expect(seen.name).toBe("e2e-dockerpy-events");
  });
});
