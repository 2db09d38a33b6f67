/**
 * Moving images with the docker CLI through nerdctld: save, load, import,
 * commit, push and pull (a local registry, with and without htpasswd auth),
 * and clients that go away mid-transfer. Every cell of the matrix leaves its
 * namespace with the images it found there.
 *
 * The registries run inside the engine (a container on the host network of
 * the engine), so nerdctl reaches them on 127.0.0.1 whichever provider runs
 * the engine: on the host, or in a Testcontainers container.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { docker, DOCKER_CLIS } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { writeBusyboxImage, writeLargeImage } from "./support/images.ts";
import { startEngineRegistry, type EngineRegistry } from "./support/engine-registry.ts";
import { MATRIX, type MatrixCell, writeCliConfig } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";
import { packTar } from "../lib/archive/tar-writer.ts";
import { listTar } from "./support/tar.ts";

const dockerHost = inject("dockerHost");
const socketPath = dockerHost.replace(/^unix:\/\//, "");
const CLI = DOCKER_CLIS[0]!.path;
const CREDENTIALS = { user: "e2e", password: "e2e-secret" };

let work: string;

async function nerdctl(args: string[], namespace = "default"): Promise<string> {
  const result = await engineNerdctl(args, { namespace });
  if (result.exitCode !== 0) throw new Error(`nerdctl ${args.join(" ")} (${namespace}): ${result.stderr}`);
  return result.stdout;
}

async function imageNames(namespace: string): Promise<string[]> {
  return (await nerdctl(["images", "--all", "--format", "{{.Name}}"], namespace)).split("\n").filter(Boolean).sort();
}

/** Removes every image name the namespace did not have before (loads, imports, commits, pulls). */
async function restoreImages(namespace: string, before: string[]): Promise<void> {
  const extra = (await imageNames(namespace)).filter((name) => !before.includes(name));
  if (extra.length > 0) await engineNerdctl(["rmi", "--force", ...extra], { namespace });
}

// --- a registry inside the engine ---------------------------------------------------


let registry: EngineRegistry;
let authRegistry: EngineRegistry;
let defaultImages: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-transfer-"));
  defaultImages = await imageNames("default");
  registry = await startEngineRegistry({ label: "plain", work, dockerHost });
  authRegistry = await startEngineRegistry({ label: "auth", work, dockerHost }, CREDENTIALS);
});

afterAll(async () => {
  await registry?.stop();
  await authRegistry?.stop();
  if (defaultImages) await restoreImages("default", defaultImages);
  await rm(work, { recursive: true, force: true });
});

/** A docker CLI config for the cell: its namespace header, plus registry credentials when given. */
async function cellConfig(cell: MatrixCell, auths?: Record<string, string>): Promise<string> {
  const dir = join(work, `config-${cell.cli}-${cell.namespace}-${auths ? "auth" : "plain"}`);
  return writeCliConfig(dir, cell.namespace, { auths });
}

describe.each(MATRIX)("$title", (cell) => {
  const ns = cell.namespace;
  /** Unique per cell: the cells share the registries. */
  const slug = `${cell.cli}-${ns}`.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  let config: string;
  let before: string[];
  const run = (args: string[], input?: string, dockerConfig = config) => docker(cell.cliPath, dockerHost, args, input, { DOCKER_CONFIG: dockerConfig });
  /** The CLI with a file (binary) as its stdin. */
  const runWithStdin = async (args: string[], file: string) => {
    const result = await execa(cell.cliPath, args, {
      env: { DOCKER_HOST: dockerHost, DOCKER_CONFIG: config, DOCKER_CLI_HINTS: "false" },
      inputFile: file,
      reject: false,
      timeout: 120_000,
    });
    return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
  };

  beforeAll(async () => {
    await seedNamespace(ns);
    before = await imageNames(ns);
    config = await cellConfig(cell);
  });

  afterAll(async () => {
    if (before) await restoreImages(ns, before);
    expect(await imageNames(ns)).toEqual(before);
  });

  it("docker save", async () => {
    const out = join(work, `${slug}-saved.tar`);
    const result = await run(["save", "--output", out, "busybox"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const names = (await listTar(await readFile(out))).map((entry) => entry.name);
    expect(names).toContain("index.json");
    expect(names).toContain("manifest.json");
    expect(names.some((name) => name.startsWith("blobs/sha256/"))).toBe(true);

    // Several images in one archive, streamed to stdout.
    await nerdctl(["tag", "busybox", `e2e-save-${slug}:v1`], ns);
    const both = join(work, `${slug}-both.tar`);
    const piped = await run(["save", "--output", both, "busybox", `e2e-save-${slug}:v1`]);
    expect(piped.exitCode, piped.stderr).toBe(0);
    const manifest = JSON.parse((await listTar(await readFile(both))).find((entry) => entry.name === "manifest.json")!.data!.toString()) as {
      RepoTags: string[];
    }[];
    expect(manifest.flatMap((entry) => entry.RepoTags).sort()).toEqual([`e2e-save-${slug}:v1`, "busybox:latest"].sort());

    const missing = await run(["save", "--output", join(work, "x.tar"), "busybox", "nosuch"]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain("No such image: nosuch");
  });

  it("docker load", async () => {
    const archive = await writeBusyboxImage(join(work, `${slug}-load.tar`), { reference: `docker.io/library/e2e-load-${slug}:v1` });
    const imagesBefore = await imageNames(ns);
    const result = await run(["load", "--input", archive.path]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(`Loaded image: e2e-load-${slug}:v1`);
    // The image, and no import@sha256:… record beside it.
    expect((await imageNames(ns)).filter((name) => !imagesBefore.includes(name))).toEqual([`docker.io/library/e2e-load-${slug}:v1`]);

    // Through stdin, as `docker load < file`.
    const again = await runWithStdin(["load"], archive.path);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(`Loaded image: e2e-load-${slug}:v1`);
  });

  it("docker load of a truncated or broken archive", async () => {
    const archive = await writeBusyboxImage(join(work, `${slug}-broken.tar`), { reference: `docker.io/library/e2e-broken-${slug}:v1` });
    const truncated = join(work, `${slug}-truncated.tar`);
    await writeFile(truncated, (await readFile(archive.path)).subarray(0, 1024 * 1024));
    const imagesBefore = await imageNames(ns);
    const result = await run(["load", "--input", truncated]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Error processing tar file: .*unexpected EOF/);
    const garbage = join(work, `${slug}-garbage.tar`);
    await writeFile(garbage, "this is not an archive\n");
    const broken = await run(["load", "--input", garbage]);
    expect(broken.exitCode).not.toBe(0);
    expect(broken.stderr).toContain("Error processing tar file");
    expect(await imageNames(ns)).toEqual(imagesBefore);
  });

  it("docker import", async () => {
    const rootfs = join(work, `${slug}-rootfs.tar`);
    await pipeline(
      Readable.from(packTar([{ type: "file", name: "marker", content: Buffer.from(`imported by ${slug}\n`) }])),
      createWriteStream(rootfs),
    );
    const imagesBefore = await imageNames(ns);
    const result = await run(["import", "--message", "from e2e", rootfs, `e2e-import-${slug}:v1`]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const id = (await nerdctl(["image", "inspect", "--format", "{{.Id}}", `e2e-import-${slug}:v1`], ns)).trim();
    expect(result.stdout.trim()).toBe(id);
    expect((await imageNames(ns)).filter((name) => !imagesBefore.includes(name))).toEqual([`docker.io/library/e2e-import-${slug}:v1`]);

    const piped = await runWithStdin(["import", "-", `e2e-import-${slug}:v2`], rootfs);
    expect(piped.exitCode, piped.stderr).toBe(0);

    const changes = await run(["import", "--change", 'CMD ["sh"]', rootfs, `e2e-import-${slug}:v3`]);
    expect(changes.exitCode).not.toBe(0);
    expect(changes.stderr).toContain("nerdctl import cannot apply");
  });

  it("docker commit", async () => {
    const result = await run(["commit", "--author", "e2e <e2e@example.com>", "--message", "committed", "--change", 'CMD ["cat", "/etc/hostname"]', "web", `e2e-commit-${slug}:v1`]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspected = JSON.parse(
      await nerdctl(["image", "inspect", "--format", "{{json .}}", `e2e-commit-${slug}:v1`], ns),
    ) as { Id: string; Author: string; Comment: string; Config: { Cmd: string[] } };
    expect(inspected).toMatchObject({ Id: result.stdout.trim(), Author: "e2e <e2e@example.com>", Comment: "committed", Config: { Cmd: ["cat", "/etc/hostname"] } });
    // Paused for the commit, running again after it.
    expect((await nerdctl(["inspect", "--format", "{{.State.Status}}", "web"], ns)).trim()).toBe("running");

    const missing = await run(["commit", "nosuch", `e2e-commit-${slug}:v2`]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain("No such container: nosuch");
    const unsupported = await run(["commit", "--change", "ENV A=b", "web", `e2e-commit-${slug}:v3`]);
    expect(unsupported.exitCode).not.toBe(0);
    expect(unsupported.stderr).toContain("not a supported change command");
  });

  it("docker push", async () => {
    const ref = `${registry.host}/e2e/${slug}:v1`;
    await nerdctl(["tag", "busybox", ref], ns);
    const result = await run(["push", ref]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`The push refers to repository [${registry.host}/e2e/${slug}]`);
    expect(result.stdout).toMatch(/^[0-9a-f]{12}: Pushed$/m);
    expect(result.stdout).toMatch(/^v1: digest: sha256:[0-9a-f]{64} size: \d+$/m);

    const missing = await run(["push", `${registry.host}/e2e/${slug}:nosuch`]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain(`An image does not exist locally with the tag: ${registry.host}/e2e/${slug}`);
  });

  it("docker pull", async () => {
    const ref = `${registry.host}/e2e/pull-${slug}:v1`;
    await nerdctl(["tag", "busybox", ref], ns);
    await nerdctl(["push", ref], ns);
    await nerdctl(["rmi", ref], ns);

    const result = await run(["pull", ref]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`v1: Pulling from e2e/pull-${slug}`);
    const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(result.stdout)?.[1];
    expect(digest).toBeDefined();
    expect(result.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
    expect(await imageNames(ns)).toContain(ref);

    const again = await run(["pull", ref]);
    expect(again.stdout).toContain(`Status: Image is up to date for ${ref}`);

    // By digest, as `docker pull name@sha256:…`.
    const byDigest = await run(["pull", `${registry.host}/e2e/pull-${slug}@${digest}`]);
    expect(byDigest.exitCode, byDigest.stderr).toBe(0);
    expect(byDigest.stdout).toContain(`Digest: ${digest}`);
    expect(await imageNames(ns)).toContain(`${registry.host}/e2e/pull-${slug}@${digest}`);

    const missing = await run(["pull", `${registry.host}/e2e/nosuch:v1`]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain(`manifest for ${registry.host}/e2e/nosuch:v1 not found: manifest unknown: manifest unknown`);
  });

  it("docker push and pull with registry credentials", async () => {
    const ref = `${authRegistry.host}/e2e/${slug}:v1`;
    await nerdctl(["tag", "busybox", ref], ns);

    // Without credentials the registry refuses, as with dockerd.
    const anonymous = await run(["push", ref]);
    expect(anonymous.exitCode).not.toBe(0);
    expect(anonymous.stderr).toMatch(/no basic auth credentials|unauthorized/);

    const wrong = await run(["push", ref], undefined, await cellConfig(cell, { [authRegistry.host]: `${CREDENTIALS.user}:wrong` }));
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toContain("unauthorized: authentication required");

    // docker login (POST /auth) stores the credentials in a config of their own, as a user's.
    const withCredentials = await cellConfig(cell, {});
    const login = await run(["login", "--username", CREDENTIALS.user, "--password-stdin", authRegistry.host], CREDENTIALS.password, withCredentials);
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stdout).toContain("Login Succeeded");
    const pushed = await run(["push", ref], undefined, withCredentials);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(pushed.stdout).toMatch(/^v1: digest: sha256:[0-9a-f]{64} size: \d+$/m);

    await nerdctl(["rmi", ref], ns);
    const denied = await run(["pull", ref]);
    expect(denied.exitCode).not.toBe(0);
    const pulled = await run(["pull", ref], undefined, withCredentials);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
  });
});

// --- clients that go away -----------------------------------------------------------

/** nerdctl processes (anywhere on this kernel) whose command line matches. */
function nerdctlProcesses(pattern: RegExp): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && /\/nerdctl\s/.test(match[2]!) && pattern.test(match[2]!))
    .map((match) => Number(match[1]));
}

async function gone(pids: number[], timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pids.every((pid) => !existsSync(`/proc/${pid}`))) return true;
    await sleep(100);
  }
  return false;
}

describe("a client that goes away", () => {
  const reference = `e2e-disconnect-${process.pid}:v1`;
  let archive: string;
  let before: string[];

  beforeAll(async () => {
    before = await imageNames("default");
    archive = (await writeLargeImage(join(work, "large.tar"), { sizeBytes: 96 * 1024 * 1024, reference: `docker.io/library/${reference}` })).path;
    const loaded = await docker(CLI, dockerHost, ["load", "--input", archive]);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
  });

  afterAll(async () => {
    if (before) await restoreImages("default", before);
  });

  it("mid-save: nerdctl save is killed", async () => {
    let received = 0;
    const req = request({ socketPath, method: "GET", path: `/v1.43/images/${reference}/get` });
    req.on("error", () => {});
    const pids = await new Promise<number[]>((resolve) => {
      req.on("response", (res) => {
        res.on("data", (chunk: Buffer) => {
          received += chunk.length;
          if (received > 1024 * 1024) {
            res.pause();
            resolve(nerdctlProcesses(new RegExp(` save -- ${reference.replace(/[.:]/g, "\\$&")}$`)));
          }
        });
      });
      req.end();
    });
    expect(pids.length).toBe(1);
    req.destroy();
    expect(await gone(pids)).toBe(true);
  });

  it("mid-load: nerdctl load is killed and no image is left", async () => {
    const loadsBefore = new Set(nerdctlProcesses(/ load$/));
    const req = request({ socketPath, method: "POST", path: "/v1.43/images/load?quiet=1", headers: { "Content-Type": "application/x-tar" } });
    req.on("error", () => {});
    const source = createReadStream(archive, { end: 32 * 1024 * 1024 });
    source.pipe(req, { end: false });
    await new Promise<void>((resolve) => source.once("end", () => resolve()));
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length === 0; i++) {
      pids = nerdctlProcesses(/ load$/).filter((pid) => !loadsBefore.has(pid));
      if (pids.length === 0) await sleep(50);
    }
    expect(pids.length).toBeGreaterThan(0);
    const imagesDuring = await imageNames("default");
    req.destroy();
    expect(await gone(pids)).toBe(true);
    expect(await imageNames("default")).toEqual(imagesDuring);
  });
});
