/**
 * The transfer routes (pull, push, load, save, import, commit) over recorded
 * nerdctl output, plus a fake runner for what fixtures cannot show: children
 * killed when the client goes away, credentials kept out of argv.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import type { H3 } from "h3";
import { describe, expect, it } from "vitest";
import { packTar } from "../archive/tar-writer.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { readFixtures, stdoutBytes, type Fixture } from "../runner/fixture.ts";
import { ReplayRunner } from "../runner/replay.ts";
import type { Command, CommandRunner, InteractiveCommand, RunResult, RunningCommand } from "../runner/types.ts";
import { FIXTURES_DIR, replayApp, send, TEST_FACTS } from "../testing/replay-app.ts";
import { createDaemonApp } from "./app.ts";
import { loadRouteFiles } from "./route-files.ts";

const routes = await loadRouteFiles(ROUTES_DIR);

/** Transfers run no interactive sessions. */
function notInteractive(): InteractiveCommand {
  throw new Error("not used by the transfer routes");
}

function appOver(runner: CommandRunner): H3 {
  return createDaemonApp({ routes, services: { nerdctl: new Nerdctl(runner), facts: () => TEST_FACTS }, daemonVersion: TEST_FACTS.version });
}

/** An app replaying only the chosen fixtures of a scenario (calls with the same argv are served in order). */
async function replayOf(scenario: string, pick: (fixture: Fixture, index: number) => boolean): Promise<{ app: H3; runner: ReplayRunner }> {
  const runner = new ReplayRunner((await readFixtures(join(FIXTURES_DIR, scenario))).filter(pick));
  return { app: appOver(runner), runner };
}

/** The JSON messages of a streamed response. */
async function messages(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  expect(text.endsWith("\r\n")).toBe(true);
  return text
    .split("\r\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const auth = (value: unknown) => ({ "X-Registry-Auth": Buffer.from(JSON.stringify(value)).toString("base64url") });
const anonymous = { "X-Registry-Auth": "e30=" };

/** Values that must never reach argv as flags or through the reference grammar. */
const INJECTIONS = ["--privileged", "-v/:/h", "--output=/etc/passwd", "a b", "-", "x;rm -rf /", "../etc", "$(id)"];

describe("POST /images/create?fromImage (pull)", () => {
  it("streams dockerd's pull messages and ends with the digest and status", async () => {
    const { app, runner } = await replayApp("transfer-pull");
    const response = await send(app, "/v1.43/images/create?fromImage=127.0.0.1:5000/remote&tag=v2", { method: "POST", headers: anonymous });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const lines = await messages(response);
    expect(lines[0]).toEqual({ status: "Pulling from remote", id: "v2" });
    expect(lines.some((line) => line.status === "Pulling fs layer")).toBe(true);
    expect(lines.some((line) => line.status === "Pull complete")).toBe(true);
    expect(lines.at(-2)?.status).toMatch(/^Digest: sha256:[0-9a-f]{64}$/);
    expect(lines.at(-1)).toEqual({ status: "Status: Downloaded newer image for 127.0.0.1:5000/remote:v2" });
    expect(runner.misses).toEqual([]);

    const again = await messages(await send(app, "/v1.43/images/create?fromImage=127.0.0.1:5000/remote:v2", { method: "POST" }));
    expect(again.at(-1)).toEqual({ status: "Status: Image is up to date for 127.0.0.1:5000/remote:v2" });
  });

  it("answers 404 in dockerd's words for a manifest the registry does not have", async () => {
    const { app } = await replayApp("transfer-pull");
    const response = await send(app, "/v1.43/images/create?fromImage=127.0.0.1:5000/nosuch&tag=v1", { method: "POST" });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "manifest for 127.0.0.1:5000/nosuch:v1 not found: manifest unknown: manifest unknown" });
  });

  it("reports registry auth failures as dockerd does", async () => {
    const { app } = await replayApp("transfer-pull");
    const missing = await send(app, "/v1.43/images/create?fromImage=127.0.0.1:5001/busybox&tag=v1", { method: "POST", headers: anonymous });
    expect(missing.status).toBe(500);
    expect(await missing.json()).toEqual({ message: 'Head "http://127.0.0.1:5001/v2/busybox/manifests/v1": no basic auth credentials' });
    const wrong = await send(app, "/v1.43/images/create?fromImage=127.0.0.1:5001/private&tag=v1", {
      method: "POST",
      headers: auth({ username: "fixture", password: "wrong", serveraddress: "127.0.0.1:5001" }),
    });
    expect(wrong.status).toBe(500);
    expect(await wrong.json()).toEqual({ message: "unauthorized: authentication required" });
  });

  it("gives nerdctl the credentials in a private DOCKER_CONFIG, never in argv, and removes it after", async () => {
    const replay = await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "transfer-pull"));
    const seen: { config: string; mode: number; dirMode: number; dir: string }[] = [];
    const inspecting: CommandRunner = {
      run: (command) => replay.run(command),
      spawn(command) {
        const dir = command.env?.DOCKER_CONFIG;
        if (dir) {
          // Read synchronously enough: the file must exist while nerdctl runs.
          const file = join(dir, "config.json");
          void Promise.all([readFile(file, "utf8"), stat(file), stat(dir)]).then(([config, fileStat, dirStat]) =>
            seen.push({ config, mode: fileStat.mode & 0o777, dirMode: dirStat.mode & 0o777, dir }),
          );
        }
        return replay.spawn(command);
      },
      interactive: notInteractive,
    };
    const response = await send(appOver(inspecting), "/v1.43/images/create?fromImage=127.0.0.1:5001/private&tag=v1", {
      method: "POST",
      headers: auth({ username: "fixture", password: "wrong", serveraddress: "127.0.0.1:5001" }),
    });
    expect(response.status).toBe(500);
    const pull = replay.calls.find((call) => call.args[0] === "pull")!;
    expect(pull.args.join(" ")).not.toContain("wrong");
    expect(pull.env?.GOGC).toBe("200");
    expect(seen).toHaveLength(1);
    expect(seen[0]!.mode).toBe(0o600);
    expect(seen[0]!.dirMode).toBe(0o700);
    expect(JSON.parse(seen[0]!.config)).toEqual({ auths: { "127.0.0.1:5001": { auth: Buffer.from("fixture:wrong").toString("base64") } } });
    expect(existsSync(seen[0]!.dir)).toBe(false);
  });

  it.each(INJECTIONS)("refuses fromImage %j with 400 before nerdctl runs", async (value) => {
    const { app, runner } = await replayApp("transfer-pull");
    const response = await send(app, `/v1.43/images/create?fromImage=${encodeURIComponent(value)}`, { method: "POST" });
    expect(response.status).toBe(400);
    expect(runner.calls).toEqual([]);
  });

  it.each([
    ["tag", "--all-platforms"],
    ["tag", "v1 --x"],
    ["platform", "--unpack=false"],
    ["platform", "linux/amd64 x"],
  ])("refuses %s=%j with 400 before nerdctl runs", async (name, value) => {
    const { app, runner } = await replayApp("transfer-pull");
    const response = await send(app, `/v1.43/images/create?fromImage=busybox&${name}=${encodeURIComponent(value)}`, { method: "POST" });
    expect(response.status).toBe(400);
    expect(runner.calls).toEqual([]);
  });

  it("needs fromImage or fromSrc", async () => {
    const { app, runner } = await replayApp("transfer-pull");
    expect((await send(app, "/v1.43/images/create", { method: "POST" })).status).toBe(400);
    expect(runner.calls).toEqual([]);
  });
});

describe("POST /images/{name}/push", () => {
  it("streams Preparing, Pushed and the digest line with its aux record", async () => {
    const { app, runner } = await replayApp("transfer-push");
    const response = await send(app, "/v1.43/images/127.0.0.1:5000/busybox/push?tag=v1", { method: "POST", headers: anonymous });
    expect(response.status).toBe(200);
    const lines = await messages(response);
    const digest = (lines.at(-1)!.aux as { Digest: string }).Digest;
    expect(lines).toEqual([
      { status: "The push refers to repository [127.0.0.1:5000/busybox]" },
      { status: "Preparing", progressDetail: {}, id: "a17128f00d56" },
      { status: "Pushed", progressDetail: {}, id: "a17128f00d56" },
      { status: `v1: digest: ${digest} size: 400` },
      { progressDetail: {}, aux: { Tag: "v1", Digest: digest, Size: 400 } },
    ]);
    expect(runner.misses).toEqual([]);
  });

  it("reports a missing local image inside the stream, as dockerd", async () => {
    const { app } = await replayApp("transfer-push");
    const response = await send(app, "/v1.43/images/127.0.0.1:5000/nosuch/push?tag=v1", { method: "POST", headers: anonymous });
    expect(response.status).toBe(200);
    expect(await messages(response)).toEqual([
      { status: "The push refers to repository [127.0.0.1:5000/nosuch]" },
      {
        errorDetail: { message: "An image does not exist locally with the tag: 127.0.0.1:5000/nosuch" },
        error: "An image does not exist locally with the tag: 127.0.0.1:5000/nosuch",
      },
    ]);
  });

  it("pushes with X-Registry-Auth credentials, and reports their absence in the stream", async () => {
    const { app } = await replayApp("transfer-push");
    const denied = await messages(await send(app, "/v1.43/images/127.0.0.1:5001/private/push?tag=v1", { method: "POST", headers: anonymous }));
    expect(denied.at(-1)).toEqual({ errorDetail: { message: "no basic auth credentials" }, error: "no basic auth credentials" });
    const pushed = await messages(
      await send(app, "/v1.43/images/127.0.0.1:5001/private/push?tag=v1", {
        method: "POST",
        headers: auth({ username: "fixture", password: "fixture-secret", serveraddress: "127.0.0.1:5001" }),
      }),
    );
    expect(pushed.at(-2)?.status).toMatch(/^v1: digest: sha256:[0-9a-f]{64} size: 400$/);
  });

  it("refuses a push without X-Registry-Auth as dockerd does", async () => {
    const { app, runner } = await replayApp("transfer-push");
    const response = await send(app, "/v1.43/images/127.0.0.1:5000/busybox/push?tag=v1", { method: "POST" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: "Bad parameters and missing X-Registry-Auth: EOF" });
    expect(runner.calls).toEqual([]);
  });

  it.each(INJECTIONS.filter((value) => !value.includes("/")))("refuses the name %j with 400 before nerdctl runs", async (value) => {
    const { app, runner } = await replayApp("transfer-push");
    const response = await send(app, `/v1.43/images/${encodeURIComponent(value)}/push`, { method: "POST", headers: anonymous });
    expect(response.status).toBe(400);
    expect(runner.calls).toEqual([]);
  });

  it("refuses a tag that is not one", async () => {
    const { app, runner } = await replayApp("transfer-push");
    const response = await send(app, "/v1.43/images/busybox/push?tag=--all-tags", { method: "POST", headers: anonymous });
    expect(response.status).toBe(400);
    expect(runner.calls).toEqual([]);
  });
});

describe("POST /images/load", () => {
  const tarBody = () => new Uint8Array(64 * 1024).fill(7);

  it("answers Loaded image per image and removes the import@ record the load made", async () => {
    const { app, runner } = await replayOf("transfer-load", (_fixture, index) => index < 4);
    const response = await send(app, "/v1.43/images/load?quiet=1", { method: "POST", body: tarBody() });
    expect(response.status).toBe(200);
    expect(await messages(response)).toEqual([{ stream: "Loaded image: loaded:v1\n" }]);
    const rmi = runner.calls.find((call) => call.args[0] === "rmi");
    expect(rmi?.args).toEqual(["rmi", "--", expect.stringMatching(/^import@sha256:[0-9a-f]{64}$/)]);
    expect(runner.misses).toEqual([]);
  });

  it("reports a truncated archive clearly and leaves nothing behind", async () => {
    const { app, runner } = await replayOf("transfer-load", (_fixture, index) => index >= 4 && index < 7);
    const lines = await messages(await send(app, "/v1.43/images/load", { method: "POST", body: tarBody() }));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.error).toMatch(/^Error processing tar file: failed to ingest .*short read: expected \d+ bytes but got \d+: unexpected EOF$/);
    expect(runner.calls.map((call) => call.args[0])).toEqual(["images", "load", "images"]);
  });

  it("reports something that is not a tar archive", async () => {
    const { app } = await replayOf("transfer-load", (_fixture, index) => index >= 7);
    const lines = await messages(await send(app, "/v1.43/images/load", { method: "POST", body: "not a tar" }));
    expect(lines).toEqual([{ errorDetail: { message: "Error processing tar file: unexpected EOF" }, error: "Error processing tar file: unexpected EOF" }]);
  });
});

describe("GET /images/{name}/get and /images/get", () => {
  it("streams nerdctl save's archive as application/x-tar", async () => {
    const { app } = await replayApp("transfer-save");
    const [fixture] = await readFixtures(join(FIXTURES_DIR, "transfer-save"));
    const response = await send(app, "/v1.43/images/tiny:v1/get");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-tar");
    const archive = stdoutBytes(fixture!);
    expect(fixture!.truncated).toBeFalsy();
    expect(archive.subarray(0, 6).toString()).toBe("blobs/");
    expect(Buffer.from(await response.arrayBuffer())).toEqual(archive);
  });

  it("runs nerdctl with a Go heap goal made for streaming, like every transfer", async () => {
    const { app, runner } = await replayApp("transfer-save");
    await (await send(app, "/v1.43/images/tiny:v1/get")).arrayBuffer();
    const save = runner.calls.find((call) => call.args[0] === "save");
    expect(save?.env?.GOGC).toBe("200");
  });

  it("answers No such image with the name as sent, for any of several names", async () => {
    const { app } = await replayApp("transfer-save");
    const response = await send(app, "/v1.43/images/get?names=busybox&names=nosuch");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "No such image: nosuch" });
  });

  it.each(INJECTIONS.filter((value) => !value.includes("/")))("refuses %j with 400 before nerdctl runs", async (value) => {
    const { app, runner } = await replayApp("transfer-save");
    expect((await send(app, `/v1.43/images/${encodeURIComponent(value)}/get`)).status).toBe(400);
    expect((await send(app, `/v1.43/images/get?names=busybox&names=${encodeURIComponent(value)}`)).status).toBe(400);
    expect(runner.calls).toEqual([]);
  });

  it("needs at least one name", async () => {
    const { app, runner } = await replayApp("transfer-save");
    expect((await send(app, "/v1.43/images/get")).status).toBe(400);
    expect(runner.calls).toEqual([]);
  });
});

describe("POST /images/create?fromSrc (import)", () => {
  it("imports the body and answers the image id; nerdctl's extra index record is removed", async () => {
    const { app, runner } = await replayApp("transfer-import");
    const response = await send(app, "/v1.43/images/create?fromSrc=-&repo=tiny&tag=v1&message=from%20a%20tarball", { method: "POST", body: "tar bytes" });
    expect(response.status).toBe(200);
    expect(await messages(response)).toEqual([{ status: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }]);
    expect(runner.calls.map((call) => call.args.slice(0, 2))).toEqual([
      ["import", "--message=from a tarball"],
      ["rmi", "--"],
      ["image", "inspect"],
    ]);
    expect(runner.calls[1]!.args[2]).toMatch(/^docker\.io\/library\/tiny:v1@sha256:[0-9a-f]{64}$/);
  });

  it("answers 500 with the tar error for a broken archive", async () => {
    const { app } = await replayApp("transfer-import");
    const response = await send(app, "/v1.43/images/create?fromSrc=-&repo=broken&tag=v1", { method: "POST", body: "garbage" });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: "Error processing tar file: unexpected EOF" });
  });

  it("says plainly that nerdctl cannot apply changes on import", async () => {
    const { app, runner } = await replayApp("transfer-import");
    const response = await send(app, `/v1.43/images/create?fromSrc=-&repo=tiny&changes=${encodeURIComponent('CMD ["sh"]')}`, { method: "POST", body: "x" });
    expect(response.status).toBe(501);
    expect(runner.calls).toEqual([]);
  });

  it.each([
    ["fromSrc", "--input=/etc/shadow"],
    ["fromSrc", "file:///etc/shadow"],
    ["repo", "--privileged"],
    ["repo", "Bad"],
    ["tag", "-x"],
    ["platform", "--x"],
  ])("refuses %s=%j with 400 before nerdctl runs", async (name, value) => {
    const { app, runner } = await replayApp("transfer-import");
    const query = new URLSearchParams({ fromSrc: "-", repo: "tiny", [name]: value });
    const response = await send(app, `/v1.43/images/create?${query}`, { method: "POST", body: "x" });
    expect(response.status).toBe(400);
    expect(runner.calls).toEqual([]);
  });
});

describe("POST /commit", () => {
  it("commits with comment, author and changes; 201 with the new id", async () => {
    const { app, runner } = await replayApp("transfer-commit");
    const query = new URLSearchParams({ container: "web", repo: "committed", tag: "v1", comment: "a comment", author: "Fixture <fixture@example.com>" });
    query.append("changes", 'CMD ["sh"]');
    const response = await send(app, `/v1.43/commit?${query}`, { method: "POST" });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ Id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(runner.misses).toEqual([]);
  });

  it("answers No such container", async () => {
    const { app } = await replayApp("transfer-commit");
    const response = await send(app, "/v1.43/commit?container=nosuch&repo=committed&tag=v2", { method: "POST" });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "No such container: nosuch" });
  });

  it.each([
    ["container", "--privileged"],
    ["container", "-v/:/h"],
    ["container", ""],
    ["repo", "--x"],
    ["repo", "Bad"],
    ["tag", "--pause=false"],
    ["changes", "ENV A=b"],
    ["changes", 'CMD ["a"]\nRUN b'],
  ])("refuses %s=%j with 400 before nerdctl runs", async (name, value) => {
    const { app, runner } = await replayApp("transfer-commit");
    const query = new URLSearchParams({ container: "web", repo: "committed", [name]: value });
    const response = await send(app, `/v1.43/commit?${query}`, { method: "POST" });
    expect(response.status).toBe(400);
    expect(runner.calls).toEqual([]);
  });
});

/**
 * A nerdctl that runs until killed, writing what the test feeds it. Like a
 * real child under execa, its exit is reported only once its stdout has
 * ended: output left unread after a kill would keep it "running" for ever.
 */
class HangingRunner implements CommandRunner {
  readonly spawned: Command[] = [];
  readonly killed: Command[] = [];
  readonly exits: RunResult[] = [];
  readonly stdout = new PassThrough();

  readonly interactive = notInteractive;

  async run(): Promise<RunResult> {
    return { stdout: "", stderr: "", exitCode: 0 };
  }

  spawn(command: Command): RunningCommand {
    this.spawned.push(command);
    let dead = false;
    const exited = new Promise<RunResult>((resolve) => {
      this.stdout.once("close", () => {
        const result = { stdout: "", stderr: 'level=fatal msg="killed"', exitCode: dead ? 137 : 0 };
        this.exits.push(result);
        resolve(result);
      });
    });
    const stdin = new PassThrough();
    stdin.resume();
    return {
      stdin,
      stdout: this.stdout,
      stderr: new PassThrough().end(),
      exited,
      kill: () => {
        dead = true;
        this.killed.push(command);
        // The pipe closes; what is still buffered stays until someone reads or drops it.
        this.stdout.end();
      },
    };
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe("a client that goes away", () => {
  it("kills nerdctl save when it stops reading the archive, and sees it exit", async () => {
    const runner = new HangingRunner();
    for (let i = 0; i < 8; i++) runner.stdout.write(Buffer.alloc(64 * 1024));
    const response = await send(appOver(runner), "/v1.43/images/busybox/get");
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => runner.killed.length === 1);
    // Unread output must not keep the child's exit (and whatever waits on it) pending.
    await until(() => runner.exits.length === 1);
  });

  it("kills nerdctl save when it disconnects before the first byte", async () => {
    const runner = new HangingRunner();
    const client = new AbortController();
    const pending = send(appOver(runner), "/v1.43/images/busybox/get", { signal: client.signal });
    await until(() => runner.spawned.length === 1);
    client.abort();
    await until(() => runner.killed.length === 1);
    await pending.catch(() => {});
  });

  it("kills nerdctl pull while the reference resolves, and mid-stream", async () => {
    const runner = new HangingRunner();
    const client = new AbortController();
    const pending = send(appOver(runner), "/v1.43/images/create?fromImage=busybox&tag=1", { method: "POST", signal: client.signal });
    await until(() => runner.spawned.length === 1);
    client.abort();
    await until(() => runner.killed.length === 1);
    await pending.catch(() => {});

    const streaming = new HangingRunner();
    streaming.stdout.write("docker.io/library/busybox:1\tfetching image content\t\n");
    const response = await send(appOver(streaming), "/v1.43/images/create?fromImage=busybox&tag=1", { method: "POST" });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => streaming.killed.length === 1);
  });

  it("kills nerdctl push when the client stops reading", async () => {
    const runner = new HangingRunner();
    const response = await send(appOver(runner), "/v1.43/images/busybox/push?tag=1", { method: "POST", headers: anonymous });
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    // nerdctl starts once the client reads past the first line, then the client goes.
    const next = reader.read();
    await until(() => runner.spawned.length === 1);
    await reader.cancel();
    await next;
    await until(() => runner.killed.length === 1);
  });

  it("kills nerdctl load when the upload breaks off", async () => {
    const runner = new HangingRunner();
    let feed: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
    const client = new AbortController();
    const pending = send(appOver(runner), "/v1.43/images/load", { method: "POST", body, duplex: "half", signal: client.signal } as RequestInit);
    await until(() => runner.spawned.length === 1);
    feed!.enqueue(new Uint8Array(1024));
    feed!.error(new Error("connection reset"));
    client.abort();
    await until(() => runner.killed.length === 1);
    await pending.catch(() => {});
  });
});

/** A nerdctl whose successive runs print the given outputs and exit 0. */
class ScriptedRunner implements CommandRunner {
  readonly spawned: Command[] = [];
  constructor(private readonly outputs: Buffer[]) {}

  readonly interactive = notInteractive;

  async run(): Promise<RunResult> {
    return { stdout: "", stderr: "", exitCode: 0 };
  }

  spawn(command: Command): RunningCommand {
    const output = this.outputs[Math.min(this.spawned.length, this.outputs.length - 1)]!;
    this.spawned.push(command);
    const stdout = new PassThrough();
    // In small pieces, as a pipe delivers them.
    for (let offset = 0; offset < output.length; offset += 4096) stdout.write(output.subarray(offset, offset + 4096));
    stdout.end();
    const stdin = new PassThrough();
    stdin.resume();
    return {
      stdin,
      stdout,
      stderr: new PassThrough().end(),
      exited: new Promise((resolve) => stdout.once("close", () => resolve({ stdout: "", stderr: "", exitCode: 0 }))),
      kill: () => stdout.destroy(),
    };
  }
}

describe("a save nerdctl cuts short", () => {
  it("is resumed from a new run, so the client gets the whole archive", async () => {
    const [fixture] = await readFixtures(join(FIXTURES_DIR, "transfer-save"));
    const archive = stdoutBytes(fixture!);
    const runner = new ScriptedRunner([archive.subarray(0, archive.length - 3000), archive.subarray(0, 2048), archive]);
    const response = await send(appOver(runner), "/v1.43/images/tiny:v1/get");
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(archive);
    expect(runner.spawned).toHaveLength(3);
  });

  it("breaks the response when a new run does not write the same archive", async () => {
    const [fixture] = await readFixtures(join(FIXTURES_DIR, "transfer-save"));
    const archive = stdoutBytes(fixture!);
    const other = Buffer.from(archive);
    other[100] = other[100]! ^ 0xff;
    const runner = new ScriptedRunner([archive.subarray(0, archive.length - 3000), other]);
    const response = await send(appOver(runner), "/v1.43/images/tiny:v1/get");
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it("breaks the response when every run is cut short", async () => {
    const [fixture] = await readFixtures(join(FIXTURES_DIR, "transfer-save"));
    const archive = stdoutBytes(fixture!);
    const runner = new ScriptedRunner([archive.subarray(0, archive.length - 3000)]);
    const response = await send(appOver(runner), "/v1.43/images/tiny:v1/get");
    await expect(response.arrayBuffer()).rejects.toThrow();
    expect(runner.spawned).toHaveLength(5);
  });
});

/** A nerdctl writing its output into a pipe-sized buffer, waiting whenever it is full, as a real pipe makes it. */
class PipeRunner implements CommandRunner {
  writtenAll = false;
  constructor(private readonly output: Buffer) {}

  readonly interactive = notInteractive;

  async run(): Promise<RunResult> {
    return { stdout: "", stderr: "", exitCode: 0 };
  }

  spawn(): RunningCommand {
    const stdout = new PassThrough({ highWaterMark: 64 * 1024 });
    const exited = (async () => {
      for (let offset = 0; offset < this.output.length; offset += 64 * 1024) {
        if (!stdout.write(this.output.subarray(offset, offset + 64 * 1024))) await new Promise((resolve) => stdout.once("drain", resolve));
      }
      this.writtenAll = true;
      stdout.end();
      return { stdout: "", stderr: "", exitCode: 0 };
    })();
    return { stdin: new PassThrough().resume(), stdout, stderr: new PassThrough().end(), exited, kill: () => stdout.destroy() };
  }
}

describe("a save to a slow client", () => {
  it("never keeps nerdctl waiting: what the client cannot take yet is spooled, and arrives whole and in order", async () => {
    const layer = randomBytes(12 * 1024 * 1024);
    const archive = Buffer.concat(await Readable.from(packTar([{ type: "file", name: `blobs/sha256/${"a".repeat(64)}`, content: layer }])).toArray());
    const runner = new PipeRunner(archive);
    const response = await send(appOver(runner), "/v1.43/images/busybox/get");
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const received: Uint8Array[] = [];
    let size = 0;
    // The client reads a little and stops; nerdctl must still get to the end of its output.
    while (size < 256 * 1024) {
      const { value } = await reader.read();
      received.push(value!);
      size += value!.length;
    }
    await until(() => runner.writtenAll);
    for (let next = await reader.read(); !next.done; next = await reader.read()) received.push(next.value);
    expect(Buffer.concat(received).equals(archive)).toBe(true);
  });
});
