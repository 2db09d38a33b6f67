import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { H3 } from "h3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeTarHeader, type TarEntry } from "../archive/tar-writer.ts";
import { APP_CONTEXT, BUILD_PRUNE_REQUESTS, BUILD_REQUESTS, FAILING_CONTEXT, tarOf } from "../../scripts/scenarios/build.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { ReplayRunner } from "../runner/replay.ts";
import type { Command, CommandRunner, InteractiveCommand, RunResult, RunningCommand } from "../runner/types.ts";
import { FIXTURES_DIR, send, TEST_FACTS } from "../testing/replay-app.ts";
import { createDaemonApp } from "./app.ts";
import { buildDirectories } from "../archive/build-context.ts";
import { loadRouteFiles } from "./route-files.ts";

/** Where the recorded argv says build directories are (the recording's work dir, normalised). */
const RECORDED_PARENT = "/tmp/nerdctld-fixture";

/** The replay runner, with this test's real build directory parent spelled as the recording's. */
class RecordedPaths implements CommandRunner {
  constructor(
    readonly inner: ReplayRunner,
    private readonly parent: string,
  ) {}

  #map(command: Command): Command {
    return { ...command, args: command.args.map((arg) => arg.split(this.parent).join(RECORDED_PARENT)) };
  }

  run(command: Command): Promise<RunResult> {
    return this.inner.run(this.#map(command));
  }

  spawn(command: Command): RunningCommand {
    return this.inner.spawn(this.#map(command));
  }

  interactive(command: Command): InteractiveCommand {
    return this.inner.interactive(this.#map(command));
  }
}

let parent: string;
let app: H3;
let runner: ReplayRunner;
const saved = { ...buildDirectories };

async function appOver(commandRunner: CommandRunner): Promise<H3> {
  return createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services: { nerdctl: new Nerdctl(commandRunner), facts: () => TEST_FACTS },
    daemonVersion: TEST_FACTS.version,
  });
}

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), "build-routes-test-"));
  buildDirectories.parent = () => parent;
  runner = await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "build"));
  app = await appOver(new RecordedPaths(runner, parent));
});

afterAll(async () => {
  Object.assign(buildDirectories, saved);
  await rm(parent, { recursive: true, force: true });
});

afterEach(() => {
  expect(runner.misses).toEqual([]);
});

/** Build directories still on disk, once the build's child has exited. */
async function leftovers(): Promise<string[]> {
  for (let tries = 0; tries < 50; tries++) {
    const names = await readdir(parent);
    if (names.length === 0) return names;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return readdir(parent);
}

async function build(name: string, query: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  buildDirectories.uniqueName = () => name;
  const response = await send(app, `/v1.43/build?${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-tar", ...headers },
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  const text = await response.text();
  return { response, text };
}

/** The JSON messages of a build stream, checking each is one `\r\n`-terminated line as dockerd writes. */
function messages(text: string): Record<string, unknown>[] {
  expect(text.endsWith("\r\n")).toBe(true);
  return text
    .slice(0, -2)
    .split("\r\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("POST /build", () => {
  it("streams BuildKit's progress as the classic builder's stream lines, then the image id and tags", async () => {
    const { response, text } = await build("success", BUILD_REQUESTS.success, await tarOf(APP_CONTEXT));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const all = messages(text);
    expect(all[0]).toEqual({ stream: "#1 [internal] load build definition from Dockerfile\n" });
    expect(all).toContainEqual({ stream: '#6 [base 2/2] RUN echo "howdy" > /greeting\n' });
    const id = /exporting config (sha256:[0-9a-f]{64})/.exec(text)![1]!;
    expect(all.slice(-4)).toEqual([
      { aux: { ID: id } },
      { stream: `Successfully built ${id.slice(7, 19)}\n` },
      { stream: "Successfully tagged fixture/app:v1\n" },
      { stream: "Successfully tagged fixture/app:extra\n" },
    ]);
    // buildargs' null (UNSET), rm, forcerm, shmsize and cachefrom change nothing in the argv.
    expect(runner.calls.at(-1)?.args).toEqual([
      "build",
      "--progress=plain",
      `--file=${RECORDED_PARENT}/nerdctld-build-success/context/Dockerfile`,
      "--tag=docker.io/fixture/app:v1",
      "--tag=docker.io/fixture/app:extra",
      "--build-arg=GREETING=howdy",
      "--label=org.example.kind=fixture",
      "--target=final",
      "--",
      `${RECORDED_PARENT}/nerdctld-build-success/context`,
    ]);
    expect(await leftovers()).toEqual([]);
  });

  it("sends only the image id when quiet, building the Dockerfile the client named", async () => {
    const { response, text } = await build("quiet", BUILD_REQUESTS.quiet, await tarOf(APP_CONTEXT));
    expect(response.status).toBe(200);
    expect(messages(text)).toEqual([{ stream: `${/exporting config (sha256:[0-9a-f]{64})/.exec(runner.fixtures[1]!.stderr)![1]}\n` }]);
    expect(runner.calls.at(-1)?.args).toContain(`--file=${RECORDED_PARENT}/nerdctld-build-quiet/context/sub/Dockerfile.alt`);
  });

  it("ends a failed build with an error message carrying the step's exit code, so the docker CLI fails with it", async () => {
    const { response, text } = await build("failure", BUILD_REQUESTS.failure, await tarOf(FAILING_CONTEXT));
    expect(response.status).toBe(200);
    const all = messages(text);
    expect(all.some((message) => /^#5 [\d.]+ boom\n$/.test(String(message.stream)))).toBe(true);
    const failure = 'failed to solve: process "/bin/sh -c echo boom && exit 3" did not complete successfully: exit code: 3';
    expect(all.at(-1)).toEqual({ errorDetail: { code: 3, message: failure }, error: failure });
    expect(all.some((message) => "aux" in message)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it("builds in the namespace the request names", async () => {
    const { response, text } = await build("k8s", BUILD_REQUESTS.k8s, await tarOf(APP_CONTEXT), { "X-Containerd-Namespace": "k8s.io" });
    expect(response.status).toBe(200);
    expect(messages(text).at(-1)).toEqual({ stream: "Successfully tagged fixture/app:k8s\n" });
    expect(runner.calls.at(-1)?.args.slice(0, 3)).toEqual(["--namespace", "k8s.io", "build"]);
  });

  const link = (name: string, target: string): TarEntry => ({ type: "symlink", name, target });
  async function hardLink(name: string, target: string): Promise<Buffer> {
    const header = encodeTarHeader(link(name, target));
    header[156] = "1".charCodeAt(0);
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    return Buffer.concat([(await tarOf(APP_CONTEXT)).subarray(0, -1024), header, Buffer.alloc(1024)]);
  }

  it.each([
    ["a body that is not a tar archive", async () => "this is not a tar archive", /^the build context is not a valid tar archive/],
    ["a ../ entry", async () => tarOf([...APP_CONTEXT, { type: "file", name: "../escape", content: Buffer.from("x") }]), /"\.\.\/escape" points outside the context/],
    ["an absolute entry", async () => tarOf([...APP_CONTEXT, { type: "file", name: "/etc/cron.d/x", content: Buffer.from("x") }]), /is an absolute path/],
    ["a symlink pointing out", async () => tarOf([...APP_CONTEXT, link("etc", "../../../../etc")]), /symbolic link "etc" -> "..\/..\/..\/..\/etc" points outside/],
    ["a hard link pointing out", async () => hardLink("shadow", "../../etc/shadow"), /hard link target "..\/..\/etc\/shadow" points outside/],
    ["no Dockerfile", async () => tarOf([APP_CONTEXT[1]!]), /^Cannot locate specified Dockerfile: Dockerfile$/],
  ])("refuses %s with a 400 before anything runs, leaving nothing behind", async (_label, body, message) => {
    const before = runner.calls.length;
    const { response, text } = await build("refused", "t=fixture/never", await body());
    expect(response.status).toBe(400);
    expect((JSON.parse(text) as { message: string }).message).toMatch(message);
    expect(runner.calls.length).toBe(before);
    expect(await leftovers()).toEqual([]);
  });

  it.each([
    ["a tag that is a flag", "t=--privileged"],
    ["a tag with a flag after a space", "t=app%20--network%3Dhost"],
    ["a target that is a flag", "target=--output%3Dtype%3Dlocal%2Cdest%3D%2F"],
    ["a build arg named like a flag", `buildargs=${encodeURIComponent('{"--allow":"security.insecure"}')}`],
    ["a build arg name with =", `buildargs=${encodeURIComponent('{"A=--x":"1"}')}`],
    ["a platform with a second value", "platform=linux%2Famd64%2C--x"],
    ["a platform that is a flag", "platform=--progress%3Dtty"],
    ["a Dockerfile outside the context", "dockerfile=..%2F..%2Fetc%2Fpasswd"],
    ["an unknown network mode", "networkmode=container%3Aweb"],
  ])("refuses %s with a 400 before anything runs", async (_label, query) => {
    const before = runner.calls.length;
    const { response, text } = await build("refused", query, await tarOf(APP_CONTEXT));
    expect(response.status, text).toBe(400);
    expect(runner.calls.length).toBe(before);
    expect(await leftovers()).toEqual([]);
  });

  it("answers 501 to a BuildKit session build (builder version 2), naming buildx and the classic builder", async () => {
    const { response, text } = await build("refused", "version=2", await tarOf(APP_CONTEXT));
    expect(response.status).toBe(501);
    expect(text).toMatch(/buildx/);
    expect(text).toMatch(/DOCKER_BUILDKIT=0/);
  });
});

describe("POST /build when the client goes away", () => {
  it("kills the build at once and removes its directory", async () => {
    const stderr = new PassThrough();
    const stdout = new PassThrough();
    let killed = 0;
    let exit: (result: RunResult) => void = () => {};
    const exited = new Promise<RunResult>((resolve) => (exit = resolve));
    const started: Command[] = [];
    const hanging: CommandRunner = {
      run: () => Promise.reject(new Error("no buffered calls expected")),
      interactive: () => {
        throw new Error("no interactive sessions expected");
      },
      spawn(command) {
        started.push(command);
        stderr.write("#1 [internal] load build definition from Dockerfile\n");
        return {
          stdin: new PassThrough(),
          stdout,
          stderr,
          exited,
          kill() {
            killed += 1;
            stderr.end();
            stdout.end();
            exit({ stdout: "", stderr: "", exitCode: 137 });
          },
        };
      },
    };
    const hangingApp = await appOver(hanging);
    buildDirectories.uniqueName = () => "gone";
    const controller = new AbortController();
    const response = await send(hangingApp, "/v1.43/build?t=fixture/gone", {
      method: "POST",
      headers: { "Content-Type": "application/x-tar" },
      body: new Uint8Array(await tarOf(APP_CONTEXT)),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('{"stream":"#1 [internal] load build definition from Dockerfile\\n"}\r\n');
    expect(started).toHaveLength(1);
    expect(await readdir(parent)).toEqual(["nerdctld-build-gone"]);
    controller.abort();
    await reader.cancel();
    expect(killed).toBeGreaterThan(0);
    expect(await leftovers()).toEqual([]);
  });
});

describe("POST /build/prune", () => {
  it("prunes with buildctl and answers dockerd's report (null when nothing went)", async () => {
    const filtered = await send(app, `/v1.43/build/prune?${BUILD_PRUNE_REQUESTS[0]}`, { method: "POST" });
    expect(filtered.status).toBe(200);
    expect(await filtered.json()).toEqual({ CachesDeleted: null, SpaceReclaimed: 0 });
    expect(runner.calls.at(-1)).toMatchObject({
      program: "buildctl",
      args: ["prune", "--format={{json .}}", "--keep-storage=10", "--keep-duration=86400000ms", "--filter=type==regular"],
    });

    const all = await send(app, `/v1.43/build/prune?${BUILD_PRUNE_REQUESTS[1]}`, { method: "POST" });
    expect(all.status).toBe(200);
    const report = (await all.json()) as { CachesDeleted: string[]; SpaceReclaimed: number };
    const recorded = runner.fixtures.find((fixture) => fixture.args.includes("--all"))!.stdout.trim().split("\n").map((line) => JSON.parse(line) as { id: string; size: number });
    expect(recorded.length).toBeGreaterThan(0);
    expect(report).toEqual({ CachesDeleted: recorded.map((record) => record.id), SpaceReclaimed: recorded.reduce((sum, record) => sum + record.size, 0) });
  });

  it.each([
    ['{"bogus":["x"]}', /invalid filter 'bogus'/],
    ['{"until":["yesterday"]}', /"until" filter expects a duration/],
    ['{"description":["a\\u0000b"]}', /control characters/],
  ])("refuses filters %s with a 400 before buildctl runs", async (filters, message) => {
    const before = runner.calls.length;
    const response = await send(app, `/v1.43/build/prune?filters=${encodeURIComponent(filters)}`, { method: "POST" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
    expect(runner.calls.length).toBe(before);
  });
});

