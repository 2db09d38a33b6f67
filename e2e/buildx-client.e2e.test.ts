import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { docker, type CliResult } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { CLI_PLUGINS_DIR, configDir, MATRIX_PREFIX } from "./support/matrix.ts";

/*
 * docker build with the docker CLI 28 and nothing else set: the CLI runs
 * buildx, whose docker driver speaks BuildKit's API to nerdctld (/grpc and
 * /session, relayed to the engine's buildkitd). Every image is built from the
 * busybox the engine already has (no registry is reachable) and then run
 * through nerdctld.
 */

const dockerHost = inject("dockerHost");
const DOCKER_28 = "/usr/local/bin/docker";
const BUILDX = join(CLI_PLUGINS_DIR, "docker-buildx");

/** buildx's major version, for the matrix cell's name: what `docker buildx version` reports. */
function buildxMajor(): string {
  if (!existsSync(BUILDX)) throw new Error(`${BUILDX} is missing: scripts/setup.sh --for-tests installs it`);
  const { Version } = JSON.parse(execFileSync(BUILDX, ["docker-cli-plugin-metadata"], { encoding: "utf8" })) as { Version: string };
  return /^v?(\d+)\./.exec(Version)?.[1] ?? Version;
}

const NAMESPACE = "default";
const REPO = "e2e-buildx/app";

const APP_DOCKERFILE = [
  "FROM busybox AS base",
  "ARG GREETING=hi",
  'RUN echo "greeting=$GREETING" && echo "$GREETING" > /greeting',
  "",
  "FROM base AS broken",
  "RUN echo the broken stage ran && exit 1",
  "",
  "FROM base AS final",
  "COPY . /ctx/",
  'CMD ["sh", "-c", "cat /greeting; ls -A /ctx"]',
  "",
].join("\n");

const SECRET_DOCKERFILE = [
  "FROM busybox",
  'RUN --mount=type=secret,id=token,required=true echo "token-sha256=$(sha256sum < /run/secrets/token)"',
  "",
].join("\n");

const SSH_DOCKERFILE = [
  "FROM busybox",
  'RUN --mount=type=ssh,required=true test -S "$SSH_AUTH_SOCK" && echo "agent-socket=$SSH_AUTH_SOCK"',
  "",
].join("\n");

const SSH_OTHER_DOCKERFILE = ["FROM busybox", "RUN --mount=type=ssh,id=elsewhere,required=true true", ""].join("\n");

const CACHE_DOCKERFILE = [
  "FROM busybox",
  "ARG RUN_ID",
  'RUN --mount=type=cache,id=e2e-buildx-runs,target=/cache echo "$RUN_ID" >> /cache/runs && echo "runs=$(wc -l < /cache/runs)"',
  "",
].join("\n");

const SECRET = "s3cret-value-of-the-e2e";

let work: string;
const built = new Set<string>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-buildx-"));
  const files: Record<string, string> = {
    "app/Dockerfile": APP_DOCKERFILE,
    "app/kept.txt": "kept\n",
    "app/ignored.txt": "ignored\n",
    "app/.dockerignore": "ignored.txt\n",
    "secret/Dockerfile": SECRET_DOCKERFILE,
    "token": SECRET,
    "ssh/Dockerfile": SSH_DOCKERFILE,
    "ssh-other/Dockerfile": SSH_OTHER_DOCKERFILE,
    "cache/Dockerfile": CACHE_DOCKERFILE,
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(work, path, ".."), { recursive: true });
    await writeFile(join(work, path), text);
  }
});

afterAll(async () => {
  if (built.size > 0) {
    const removed = await engineNerdctl(["rmi", "--force", ...built], { namespace: NAMESPACE });
    expect(removed.exitCode, removed.stderr).toBe(0);
  }
  await rm(work, { recursive: true, force: true });
});

describe(`${MATRIX_PREFIX} buildx-${buildxMajor()} ${NAMESPACE}`, () => {
  /** The docker CLI 28 as a user runs it: no DOCKER_BUILDKIT, buildx among its plugins. */
  function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return docker(DOCKER_28, dockerHost, args, undefined, { DOCKER_CONFIG: configDir(NAMESPACE), ...env }, 180_000);
  }

  async function build(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const tag = args[args.indexOf("-t") + 1];
    if (args.includes("-t") && tag) built.add(tag);
    return cli(["build", "--progress=plain", ...args], env);
  }

  /** The build went through buildx's docker driver, not the classic builder. */
  function expectBuildx(result: CliResult): void {
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/building with "default" instance using docker driver/);
    expect(result.stderr).not.toMatch(/legacy builder/);
  }

  async function inEngine(reference: string): Promise<boolean> {
    return (await engineNerdctl(["image", "inspect", reference], { namespace: NAMESPACE })).exitCode === 0;
  }

  it("docker build (multi-stage, --build-arg, --progress=plain)", async () => {
    const tag = `${REPO}:multi`;
    const result = await build(["--build-arg", "GREETING=howdy", "-t", tag, join(work, "app")]);
    expectBuildx(result);
    // BuildKit's plain progress: the steps, the RUN output with the build arg, the export.
    expect(result.stderr).toMatch(/#\d+ \[base 2\/2\] RUN echo "greeting=howdy"/);
    expect(result.stderr).toMatch(/#\d+ [\d.]+ greeting=howdy/);
    expect(result.stderr).toMatch(/naming to docker\.io\/e2e-buildx\/app:multi done/);
    // Only what the final stage needs was built.
    expect(result.stderr).not.toMatch(/the broken stage ran/);
    // In containerd's store, in the request's namespace, and run through nerdctld.
    expect(await inEngine(tag)).toBe(true);
    const run = await cli(["run", "--rm", tag]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.split("\n")).toEqual(["howdy", ".dockerignore", "Dockerfile", "kept.txt"]);
  });

  it("docker build (.dockerignore)", async () => {
    const tag = `${REPO}:ignore`;
    expectBuildx(await build(["-t", tag, join(work, "app")]));
    const run = await cli(["run", "--rm", tag, "ls", "-A", "/ctx"]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/kept\.txt/);
    expect(run.stdout).not.toMatch(/ignored\.txt/);
  });

  it("docker build --target", async () => {
    const tag = `${REPO}:base`;
    expectBuildx(await build(["--target", "base", "-t", tag, join(work, "app")]));
    const greeting = await cli(["run", "--rm", tag, "cat", "/greeting"]);
    expect(greeting.exitCode, greeting.stderr).toBe(0);
    expect(greeting.stdout).toBe("hi");
    // The base stage has no context copied in.
    const ctx = await cli(["run", "--rm", tag, "ls", "/ctx"]);
    expect(ctx.exitCode).not.toBe(0);
    const broken = await build(["--target", "broken", "-t", `${REPO}:broken`, join(work, "app")]);
    expect(broken.exitCode).not.toBe(0);
    expect(broken.stderr).toMatch(/the broken stage ran/);
    expect(broken.stderr).toMatch(/did not complete successfully: exit code: 1/);
    expect(await inEngine(`${REPO}:broken`)).toBe(false);
  });

  it("docker build --secret", async () => {
    const tag = `${REPO}:secret`;
    const result = await build(["--secret", `id=token,src=${join(work, "token")}`, "-t", tag, join(work, "secret")]);
    expectBuildx(result);
    // The RUN step read the secret the client holds (through the build's session)...
    const digest = createHash("sha256").update(SECRET).digest("hex");
    expect(result.stderr).toContain(`token-sha256=${digest}`);
    // ...and the image does not keep it.
    const run = await cli(["run", "--rm", tag, "cat", "/run/secrets/token"]);
    expect(run.exitCode).not.toBe(0);
  });

  it("docker build --ssh", async () => {
    const agentDir = await mkdtemp(join(tmpdir(), "nerdctld-e2e-agent-"));
    const socket = join(agentDir, "agent.sock");
    const agent = execa("ssh-agent", ["-D", "-a", socket], { reject: false });
    try {
      await waitFor(() => existsSync(socket));
      await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e-buildx", "-f", join(agentDir, "key")]);
      await execa("ssh-add", ["-q", join(agentDir, "key")], { env: { SSH_AUTH_SOCK: socket } });
      const tag = `${REPO}:ssh`;
      const result = await build(["--ssh", "default", "-t", tag, join(work, "ssh")], { SSH_AUTH_SOCK: socket });
      expectBuildx(result);
      // The agent the client forwards is a socket in the RUN step.
      expect(result.stderr).toMatch(/agent-socket=\/run\/buildkit\/ssh_agent\.\d+/);
      // buildkitd asks the client, over the session, for each key id a step wants.
      const other = await build(["--ssh", "default", "-t", `${REPO}:ssh-other`, join(work, "ssh-other")], { SSH_AUTH_SOCK: socket });
      expect(other.exitCode).not.toBe(0);
      expect(other.stderr).toMatch(/elsewhere/);
    } finally {
      agent.kill();
      await agent;
      await rm(agentDir, { recursive: true, force: true });
    }
  });

  it("docker build (RUN --mount=type=cache)", async () => {
    const tag = `${REPO}:cache`;
    const runs = async (id: string) => {
      const result = await build(["--build-arg", `RUN_ID=${id}`, "-t", tag, join(work, "cache")]);
      expectBuildx(result);
      return Number(/runs=(\d+)/.exec(result.stderr)?.[1]);
    };
    const first = await runs("first");
    expect(first).toBeGreaterThan(0);
    // A second build finds what the first left in the cache mount.
    expect(await runs("second")).toBe(first + 1);
  });

  it("docker build --load", async () => {
    const tag = `${REPO}:loaded`;
    expectBuildx(await build(["--load", "-t", tag, join(work, "app")]));
    const images = await cli(["images", "--format", "{{.Repository}}:{{.Tag}}", REPO]);
    expect(images.stdout.split("\n")).toContain(tag);
    const run = await cli(["run", "--rm", tag]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe("hi");
  });

  it("docker build -q (untagged)", async () => {
    const result = await cli(["build", "-q", "--build-arg", "GREETING=untagged", join(work, "app")]);
    expect(result.exitCode, result.stderr).toBe(0);
    const id = result.stdout.trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    // What the client was told names the image for the daemon: an untagged one, as dockerd keeps it.
    const inspect = await cli(["image", "inspect", "--format", "{{json .RepoTags}}", id]);
    expect(inspect.exitCode, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout)).toEqual([]);
    const removed = await cli(["rmi", id]);
    expect(removed.exitCode, removed.stderr).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
