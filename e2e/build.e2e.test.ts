import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { docker, type CliResult } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { MATRIX, type MatrixCell } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

/*
 * docker build through the classic builder API (DOCKER_BUILDKIT=0, what the
 * docker CLI uses without buildx) and docker builder prune, with each docker
 * CLI in each namespace. `FROM busybox` is served from the engine's store (no
 * registry is reachable). Every image a cell builds is removed afterwards.
 */

const dockerHost = inject("dockerHost");

/** A docker config sending the cell's namespace header, as matrix.ts's dockerIn does. */
function configDir(namespace: string): string {
  const dir = join("/tmp", `nerdctld-e2e-build-docker-config-${namespace}`);
  mkdirSync(dir, { recursive: true });
  const headers = namespace === "default" ? {} : { "X-Containerd-Namespace": namespace };
  writeFileSync(join(dir, "config.json"), JSON.stringify({ HttpHeaders: headers }));
  return dir;
}

/** The cell's docker CLI with the classic builder. */
function dockerBuild(cell: MatrixCell, args: string[]): Promise<CliResult> {
  return docker(cell.cliPath, dockerHost, args, undefined, { DOCKER_CONFIG: configDir(cell.namespace), DOCKER_BUILDKIT: "0" });
}

const DOCKERFILE = [
  "FROM busybox AS base",
  "ARG GREETING=hi",
  'RUN echo "greeting=$GREETING" && echo "$GREETING" > /greeting',
  "",
  "FROM base AS final",
  "COPY hello.txt /hello.txt",
  "RUN exit 1",
  "",
].join("\n");

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-build-"));
  await mkdir(join(work, "app"));
  await writeFile(join(work, "app", "Dockerfile"), DOCKERFILE);
  await writeFile(join(work, "app", "hello.txt"), "hello\n");
  await writeFile(join(work, "Other.dockerfile"), "FROM busybox\nRUN echo built-from-other-dockerfile\n");
  await mkdir(join(work, "failing"));
  await writeFile(join(work, "failing", "Dockerfile"), "FROM busybox\nRUN echo about to fail && exit 3\n");
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(MATRIX)("$title", (cell) => {
  /** A repository of this cell's own, so cells never see each other's images. */
  const repo = `e2e-build/${cell.cli}-${cell.namespace}`;
  const built: string[] = [];

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
  });

  afterAll(async () => {
    if (built.length === 0) return;
    const removed = await engineNerdctl(["rmi", "--force", ...new Set(built)], { namespace: cell.namespace });
    expect(removed.exitCode, removed.stderr).toBe(0);
  });

  async function inEngine(reference: string): Promise<{ id: string; labels: Record<string, string> } | undefined> {
    const result = await engineNerdctl(["image", "inspect", "--format", "{{json .}}", reference], { namespace: cell.namespace });
    if (result.exitCode !== 0) return undefined;
    const image = JSON.parse(result.stdout.trim().split("\n")[0]!) as { Id: string; Config?: { Labels?: Record<string, string> } };
    return { id: image.Id, labels: image.Config?.Labels ?? {} };
  }

  it("docker build -t", async () => {
    const tag = `${repo}:plain`;
    built.push(tag, `${repo}:second`);
    const result = await dockerBuild(cell, ["build", "--target", "base", "-t", tag, "-t", `${repo}:second`, join(work, "app")]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/^Sending build context to Docker daemon/m);
    const id = /^Successfully built ([0-9a-f]{12})$/m.exec(result.stdout)?.[1];
    expect(id, result.stdout).toBeDefined();
    const lines = result.stdout.split("\n");
    expect(lines).toContain(`Successfully tagged ${tag}`);
    expect(lines).toContain(`Successfully tagged ${repo}:second`);
    // In containerd's store, in the cell's namespace, at once; and the daemon shows it.
    const image = await inEngine(tag);
    expect(image?.id.slice(7, 19)).toBe(id);
    expect((await inEngine(`${repo}:second`))?.id).toBe(image?.id);
    const inspect = await dockerBuild(cell, ["image", "inspect", "--format", "{{.Id}}", tag]);
    expect(inspect.exitCode, inspect.stderr).toBe(0);
    expect(inspect.stdout.trim()).toBe(image?.id);
  });

  it("docker build --build-arg --target --label", async () => {
    const tag = `${repo}:args`;
    built.push(tag);
    const result = await dockerBuild(cell, [
      "build", "--build-arg", "GREETING=howdy", "--target", "base", "--label", "org.example.built-by=e2e", "--label", "tier=test", "-t", tag, join(work, "app"),
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    // The RUN step saw the build arg; the stage after the target (which would fail) never ran.
    expect(result.stdout).toMatch(/greeting=howdy/);
    expect(result.stdout).not.toMatch(/RUN exit 1/);
    expect((await inEngine(tag))?.labels).toMatchObject({ "org.example.built-by": "e2e", tier: "test" });
    const labels = await dockerBuild(cell, ["image", "inspect", "--format", "{{json .Config.Labels}}", tag]);
    expect(JSON.parse(labels.stdout)).toMatchObject({ "org.example.built-by": "e2e", tier: "test" });
  });

  it("docker build -f", async () => {
    const tag = `${repo}:other`;
    built.push(tag);
    // A Dockerfile outside the context: the CLI adds it to the archive under a name of its own.
    const result = await dockerBuild(cell, ["build", "-f", join(work, "Other.dockerfile"), "-t", tag, join(work, "app")]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/RUN echo built-from-other-dockerfile/);
    expect(await inEngine(tag)).toBeDefined();
  });

  it("docker build --no-cache", async () => {
    const tag = `${repo}:cache`;
    built.push(tag);
    const args = ["build", "--target", "base", "--build-arg", "GREETING=cached", "-t", tag, join(work, "app")];
    const first = await dockerBuild(cell, args);
    expect(first.exitCode, first.stderr).toBe(0);
    const again = await dockerBuild(cell, args);
    expect(again.exitCode, again.stderr).toBe(0);
    // BuildKit names the step with the build arg expanded.
    expect(again.stdout).toMatch(/RUN echo "greeting=cached"[^\n]*\n#\d+ CACHED/);
    const fresh = await dockerBuild(cell, ["build", "--no-cache", ...args.slice(1)]);
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    // FROM is always "CACHED" (the image is local); the RUN step is not, this time.
    expect(fresh.stdout).not.toMatch(/RUN echo "greeting=cached"[^\n]*\n#\d+ CACHED/);
    expect(fresh.stdout).toMatch(/greeting=cached/);
  });

  it("docker build (a failing RUN step)", async () => {
    const tag = `${repo}:failing`;
    const result = await dockerBuild(cell, ["build", "-t", tag, join(work, "failing")]);
    // The CLI exits with the failed step's exit code, and shows the error.
    expect(result.exitCode, result.stdout).toBe(3);
    expect(result.stdout).toMatch(/about to fail/);
    expect(result.stderr).toMatch(/did not complete successfully: exit code: 3/);
    expect(await inEngine(tag)).toBeUndefined();
  });

  it("docker builder prune -f", async () => {
    const result = await dockerBuild(cell, ["builder", "prune", "-f"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Total reclaimed space: \d+(\.\d+)?[kMG]?B$/m);
    const all = await dockerBuild(cell, ["builder", "prune", "--all", "--force", "--filter", "until=1s"]);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/Total reclaimed space:/);
    const bad = await dockerBuild(cell, ["builder", "prune", "-f", "--filter", "bogus=1"]);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/invalid filter 'bogus'/);
  });
});
