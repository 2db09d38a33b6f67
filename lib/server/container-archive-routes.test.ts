/**
 * HEAD, GET and PUT /containers/{id}/archive over a runner that plays the
 * engine: nerdctl inspects, ctr describes the container's snapshot as a bind
 * of a test tree, and "mounting" it copies that tree to the mount point (what
 * a bind shows there). The namespace holder is a real cat, as in the daemon.
 */
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import type { H3 } from "h3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packTar } from "../archive/tar-writer.ts";
import { readTar } from "../archive/tar-reader.ts";
import type { ContainerPathStat } from "../docker/container-archive.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import type { Command, CommandRunner, InteractiveCommand, RunResult, RunningCommand } from "../runner/types.ts";
import { TEST_FACTS, send } from "../testing/replay-app.ts";
import { createDaemonApp } from "./app.ts";
import { loadRouteFiles } from "./route-files.ts";

const routes = await loadRouteFiles(ROUTES_DIR);
const ID = "068ac2173cce4ffd961c38c65eabaa050bd1aae7dafb611a418ab249db020ca6";

const container = {
  Id: ID,
  Name: "box",
  Driver: "overlayfs",
  State: { Status: "created", Running: false, Pid: 0 },
  HostConfig: { ReadonlyRootfs: false },
  Config: { User: "" },
  Mounts: [],
};

class EngineStub implements CommandRunner {
  readonly calls: Command[] = [];
  readonly mountPoints: string[] = [];
  readonly holders: RunningCommand[] = [];

  constructor(private readonly tree: string) {}

  async run(command: Command): Promise<RunResult> {
    this.calls.push(command);
    const args = command.args;
    if (command.program === "nerdctl" && args.includes("inspect")) {
      if (args.at(-1) === "box") return { stdout: JSON.stringify([container]), stderr: "", exitCode: 0 };
      return { stdout: "", stderr: `time="2026-01-01T00:00:00Z" level=fatal msg="1 errors:\\nno such container: ${args.at(-1)}"\n`, exitCode: 1 };
    }
    if (command.program === "ctr") {
      const target = args.at(-2)!;
      this.mountPoints.push(target);
      return { stdout: `mount -t bind ${this.tree} ${target} -o rbind\n`, stderr: "", exitCode: 0 };
    }
    if (command.program === "nsenter") {
      await cp(this.tree, args.at(-1)!, { recursive: true, verbatimSymlinks: true });
      return { stdout: "", stderr: "", exitCode: 0 };
    }
    throw new Error(`unexpected command ${command.program} ${args.join(" ")}`);
  }

  spawn(command: Command): RunningCommand {
    this.calls.push(command);
    const child = spawn("cat", ["/proc/self/stat", "-"], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<RunResult>((resolve) => child.once("exit", (code) => resolve({ stdout: "", stderr: "", exitCode: code ?? 137 })));
    const holder = { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill: () => child.kill("SIGKILL") };
    this.holders.push(holder);
    return holder;
  }

  interactive(): InteractiveCommand {
    throw new Error("not used by the archive routes");
  }
}

let work: string;
let tree: string;
let engine: EngineStub;
let app: H3;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "archive-routes-"));
  tree = join(work, "rootfs");
  await mkdir(join(tree, "etc"), { recursive: true });
  await mkdir(join(tree, "tmp"));
  await writeFile(join(tree, "etc", "hostname"), "box\n");
  await symlink("/etc/hostname", join(tree, "name"));
  engine = new EngineStub(tree);
  app = createDaemonApp({ routes, services: { nerdctl: new Nerdctl(engine), facts: () => TEST_FACTS }, daemonVersion: TEST_FACTS.version });
});

afterEach(async () => {
  // What the "mount" copied stays in its mount point (a real unmount leaves it empty).
  for (const target of engine.mountPoints) await rm(target, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

/** The path-stat header read back, as docker cp reads it. */
const pathStat = (response: Response) => JSON.parse(Buffer.from(response.headers.get("x-docker-container-path-stat")!, "base64").toString()) as ContainerPathStat;

const archive = (path: string, query = "") => `/v1.43/containers/box/archive?path=${encodeURIComponent(path)}${query}`;

async function entries(data: Buffer): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  let current = "";
  for await (const event of readTar(Readable.from([data]), { subject: "test" })) {
    if (event.kind === "entry") found[(current = event.header.name)] = event.header.linkname;
    else if (event.kind === "data") found[current] += event.piece.toString();
  }
  return found;
}

describe("HEAD /containers/{id}/archive", () => {
  it("answers the path's stat in X-Docker-Container-Path-Stat, with no body", async () => {
    const response = await send(app, archive("/name"), { method: "HEAD" });
    expect(response.status).toBe(200);
    const stat = pathStat(response);
    expect(stat).toMatchObject({ name: "name", size: 13, mode: 2 ** 27 + 0o777, linkTarget: "/etc/hostname" });
    expect(stat.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(await response.text()).toBe("");
  });

  it("answers 404 for a missing path and a missing container", async () => {
    expect((await send(app, archive("/nosuch"), { method: "HEAD" })).status).toBe(404);
    expect((await send(app, "/v1.43/containers/ghost/archive?path=/etc", { method: "HEAD" })).status).toBe(404);
  });

  it("ends the namespace holder once answered", async () => {
    await send(app, archive("/etc"), { method: "HEAD" });
    expect(engine.holders).toHaveLength(1);
    expect((await engine.holders[0]!.exited).exitCode).toBe(0);
  });
});

describe("GET /containers/{id}/archive", () => {
  it("streams a tar of the path with its stat", async () => {
    const response = await send(app, archive("/etc"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-tar");
    expect(pathStat(response)).toMatchObject({ name: "etc", mode: 2 ** 31 + 0o755 });
    expect(await entries(Buffer.from(await response.arrayBuffer()))).toEqual({ "etc/": "", "etc/hostname": "box\n" });
  });

  it("compresses when the client asks for gzip", async () => {
    const response = await send(app, archive("/etc/hostname"), { headers: { "Accept-Encoding": "gzip" } });
    expect(response.headers.get("content-encoding")).toBe("gzip");
    expect(await entries(gunzipSync(Buffer.from(await response.arrayBuffer())))).toEqual({ hostname: "box\n" });
  });

  it.each([
    ["a missing path", archive("/nosuch"), 404, "Could not find the file /nosuch in container box"],
    ["a missing container", "/v1.43/containers/ghost/archive?path=/etc", 404, "No such container: ghost"],
    ["no path", "/v1.43/containers/box/archive", 400, "bad parameter: pathcannot be empty"],
    ["a file used as a directory", archive("/etc/hostname/"), 500, "lstat /etc/hostname/: not a directory"],
    // dockerd answers these two with a 500; the path is the client's, so the daemon did nothing wrong.
    ["a path with a NUL", archive("/etc\0/x"), 400, "lstat /etc\0/x: invalid argument"],
    ["a name too long for any file", archive(`/etc/${"x".repeat(256)}`), 400, `lstat /etc/${"x".repeat(256)}: file name too long`],
  ])("answers %s in dockerd's words", async (_label, path, status, message) => {
    const response = await send(app, path);
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ message });
  });

  it.each(["--privileged", "-v/:/h", "a\nb"])("refuses the container name %j before running anything", async (name) => {
    const response = await send(app, `/v1.43/containers/${encodeURIComponent(name)}/archive?path=/etc`);
    expect(response.status).toBe(400);
    expect(engine.calls).toEqual([]);
  });
});

describe("PUT /containers/{id}/archive", () => {
  const tar = (entries: Parameters<typeof packTar>[0]) => collect(packTar(entries));
  async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of source) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
  const put = async (path: string, body: Buffer, query = "") => send(app, archive(path, query), { method: "PUT", body: new Uint8Array(body), headers: { "Content-Type": "application/x-tar" } });

  it("extracts into the directory, in the container's filesystem only", async () => {
    const response = await put("/tmp", await tar([{ type: "file", name: "copied.txt", content: Buffer.from("hi\n") }]));
    expect(response.status).toBe(200);
    expect(await readFile(join(engine.mountPoints[0]!, "tmp", "copied.txt"), "utf8")).toBe("hi\n");
    expect(await readdir(join(tree, "tmp"))).toEqual([]);
  });

  it.each([
    ["a file as the extraction point", "/etc/hostname", 500, "extraction point is not a directory"],
    ["a missing directory", "/nosuch/dir", 404, "Could not find the file /nosuch/dir in container box"],
  ])("refuses %s", async (_label, path, status, message) => {
    const response = await put(path, await tar([{ type: "file", name: "x", content: Buffer.from("x") }]));
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ message });
  });

  it("refuses an entry that climbs out, in dockerd's words", async () => {
    const response = await put("/tmp", await tar([{ type: "file", name: "../../escaped", content: Buffer.from("x") }]));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: '"../../escaped" is outside of "/tmp"' });
  });

  it("applies noOverwriteDirNonDir", async () => {
    const response = await put("/", await tar([{ type: "file", name: "etc", content: Buffer.from("x") }]), "&noOverwriteDirNonDir=true");
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'cannot overwrite directory "/etc" with non-directory "/"' });
  });
});
