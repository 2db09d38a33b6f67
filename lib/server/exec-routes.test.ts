import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { H3 } from "h3";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { frames } from "../docker/stdcopy.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { ReplayRunner } from "../runner/replay.ts";
import type { Command, CommandRunner, ExitStatus, InteractiveCommand, InteractiveOptions, RunResult } from "../runner/types.ts";
import { NO_EVENTS, type EventBus, type EventSubscription, type NamespaceEvents } from "../service/events/bus.ts";
import { ExecRegistry } from "../service/exec-registry.ts";
import { FIXTURES_DIR, send, TEST_FACTS } from "../testing/replay-app.ts";
import { createDaemonApp } from "./app.ts";
import { listenOn, type Listening } from "./listen.ts";
import { loadRouteFiles } from "./route-files.ts";

/** The recorded containers (fixtures/containers): web runs, done has exited. */
const WEB = "760145ab60384cd35bc0c3effde9a8b26844fe3e76a04f4184a5cba6dc279739";
const DONE = "3f6f067ba1fa94b9097dde60f31c471ad70495825fa00090574cdaaa4b1fbd23";

/** nerdctl's last line when the process exited non-zero. */
const exitLine = (code: number) => `time="2026-12-05T02:57:07Z" level=fatal msg="exec failed with exit code ${code}"\n`;

/** A `nerdctl exec` child the test plays: it sees what is typed, and prints and exits when told. */
class PlayedChild {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly stdin = new PassThrough();
  typed = "";
  stdinEnded = false;
  readonly kill = vi.fn(() => this.exit({ exitCode: 137, signal: "SIGKILL" }));
  readonly resize = vi.fn();
  #exit: (status: ExitStatus) => void = () => {};
  readonly exited = new Promise<ExitStatus>((resolve) => (this.#exit = resolve));

  constructor(
    readonly command: Command,
    readonly options: InteractiveOptions,
  ) {
    this.stdin.on("data", (chunk: Buffer) => (this.typed += chunk.toString("latin1")));
    this.stdin.on("end", () => (this.stdinEnded = true));
  }

  exit(status: ExitStatus): void {
    this.stdout.end();
    this.stderr.end();
    this.#exit(status);
  }

  get interactive(): InteractiveCommand {
    const common = { stdin: this.stdin, stdout: this.stdout, exited: this.exited, kill: this.kill };
    return this.options.tty ? { ...common, tty: true, resize: this.resize } : { ...common, tty: false, stderr: this.stderr };
  }
}

/** The recorded containers for reads (by name, or by id as the exec endpoints read them), played children for exec. */
class ExecRunner implements CommandRunner {
  readonly children: PlayedChild[] = [];
  /** What each new child does once started. */
  script: (child: PlayedChild) => void = () => {};
  /** Container ids the engine no longer has. */
  readonly removed = new Set<string>();

  constructor(private readonly recorded: ReplayRunner) {}

  run(command: Command): Promise<RunResult> {
    const [verb, , , ref] = command.args;
    if (verb === "container" && ref && this.removed.has(ref)) return this.recorded.run({ ...command, args: ["container", "inspect", "--", "nosuch"] });
    const byName = ref === WEB ? "web" : ref === DONE ? "done" : ref;
    return this.recorded.run({ ...command, args: [...command.args.slice(0, 3), byName!] });
  }

  spawn(): never {
    throw new Error("no streaming calls expected");
  }

  interactive(command: Command, options: InteractiveOptions = {}): InteractiveCommand {
    const child = new PlayedChild(command, options);
    this.children.push(child);
    setImmediate(() => this.script(child));
    return child.interactive;
  }
}

/** The engine's events as far as a detached start reads them: an exec started, when the test says so. */
class ExecStartEvents implements EventBus {
  readonly #waiting = new Set<() => void>();

  announce(): void {
    for (const wake of this.#waiting) wake();
  }

  in(): NamespaceEvents {
    return { ...NO_EVENTS, subscribe: () => this.#subscription() };
  }

  #subscription(): EventSubscription {
    let wake = () => {};
    const next = () => new Promise<void>((resolve) => this.#waiting.add((wake = resolve)));
    let open = true;
    const close = () => {
      open = false;
      this.#waiting.delete(wake);
      wake();
    };
    return {
      close,
      onError: () => {},
      async *[Symbol.asyncIterator]() {
        while (open) {
          await next();
          if (open) yield { Type: "container", Action: "exec_start", Actor: { ID: WEB, Attributes: {} }, scope: "local", time: 0, timeNano: 0n };
        }
      },
    };
  }
}

let runner: ExecRunner;
const events = new ExecStartEvents();
let app: H3;
let work: string;
let listening: Listening;

beforeAll(async () => {
  runner = new ExecRunner(await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "containers")));
  app = createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services: { nerdctl: new Nerdctl(runner), facts: () => TEST_FACTS, events, execs: new ExecRegistry() },
    daemonVersion: TEST_FACTS.version,
  });
  work = await mkdtemp(join(tmpdir(), "nerdctld-exec-"));
  listening = await listenOn(`unix://${join(work, "d.sock")}`, app);
});

afterAll(async () => {
  listening.destroyConnections();
  await listening.stopAccepting();
  await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  runner.script = () => {};
  runner.removed.clear();
});

const post = (path: string, body?: unknown) =>
  send(app, path, { method: "POST", headers: { "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });

async function create(body: Record<string, unknown>, container = "web"): Promise<string> {
  const response = await post(`/v1.43/containers/${container}/exec`, { AttachStdout: true, AttachStderr: true, ...body });
  expect(response.status).toBe(201);
  const { Id } = (await response.json()) as { Id: string };
  return Id;
}

async function inspect(id: string): Promise<Record<string, unknown>> {
  const response = await send(app, `/v1.43/exec/${id}/json`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** The frames of a multiplexed body, joined per stream. */
function byStream(data: Buffer): Record<number, string> {
  const streams: Record<number, string> = {};
  for (const { stream, payload } of frames(data)) streams[stream] = (streams[stream] ?? "") + payload.toString();
  return streams;
}

async function errorOf(response: Response): Promise<{ status: number; message: string }> {
  return { status: response.status, message: ((await response.json()) as { message: string }).message };
}

describe("POST /containers/{id}/exec", () => {
  it("creates an instance without running anything, and shows it not yet started", async () => {
    const before = runner.children.length;
    const id = await create({ Cmd: ["sh", "-c", "exit 2"], User: "nobody" });
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(runner.children.length).toBe(before);
    expect(await inspect(id)).toEqual({
      ID: id,
      Running: false,
      ExitCode: null,
      ProcessConfig: { tty: false, entrypoint: "sh", arguments: ["-c", "exit 2"], privileged: false, user: "nobody" },
      OpenStdin: false,
      OpenStderr: true,
      OpenStdout: true,
      CanRemove: false,
      ContainerID: WEB,
      DetachKeys: "",
      Pid: 0,
    });
  });

  it.each([
    ["done", { Cmd: ["ls"] }, { status: 409, message: `Container ${DONE} is not running` }],
    ["nosuch", { Cmd: ["ls"] }, { status: 404, message: "No such container: nosuch" }],
    ["web", { Cmd: [] }, { status: 400, message: "No exec command specified" }],
    ["--privileged", { Cmd: ["ls"] }, { status: 400, message: 'invalid container name or id: "--privileged"' }],
  ])("answers %s with %j as dockerd does", async (container, body, expected) => {
    expect(await errorOf(await post(`/v1.43/containers/${container}/exec`, body))).toEqual(expected);
  });
});

describe("POST /exec/{id}/start (a client that does not upgrade)", () => {
  it("streams stdout and stderr as frames, leaves nerdctl's last line out, and records the exit code before the end", async () => {
    const id = await create({ Cmd: ["sh", "-c", "echo hi; printf oops >&2; exit 7"] });
    runner.script = (child) => {
      child.stdout.write("hi\n");
      child.stderr.write(`oops${exitLine(7)}`);
      child.exit({ exitCode: 1 });
    };
    const response = await post(`/v1.43/exec/${id}/start`, { Detach: false, Tty: false });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/vnd.docker.raw-stream");
    expect(byStream(Buffer.from(await response.arrayBuffer()))).toEqual({ 1: "hi\n", 2: "oops" });
    expect(await inspect(id)).toMatchObject({ Running: false, ExitCode: 7 });
    expect(runner.children.at(-1)!.command.args).toEqual(["exec", "--", WEB, "--", "sh", "-c", "echo hi; printf oops >&2; exit 7"]);
  });

  it("only sends the streams the exec asked for", async () => {
    const id = await create({ Cmd: ["ls"], AttachStderr: false });
    runner.script = (child) => {
      child.stdout.write("out");
      child.stderr.write("err");
      child.exit({ exitCode: 0 });
    };
    expect(byStream(Buffer.from(await (await post(`/v1.43/exec/${id}/start`, {})).arrayBuffer()))).toEqual({ 1: "out" });
  });

  it("writes why a process could not start into the stream, and records dockerd's 126", async () => {
    const id = await create({ Cmd: ["nosuch"] });
    const reason = 'OCI runtime exec failed: exec failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH';
    runner.script = (child) => {
      child.stderr.write(`time="2026-12-05T02:57:08Z" level=fatal msg="${reason}"\n`);
      child.exit({ exitCode: 1 });
    };
    const data = Buffer.from(await (await post(`/v1.43/exec/${id}/start`, {})).arrayBuffer());
    expect(byStream(data)).toEqual({ 1: `${reason.replaceAll('\\"', '"')}: unknown\r\n` });
    expect(await inspect(id)).toMatchObject({ Running: false, ExitCode: 126 });
  });

  it("answers a second start in the stream with dockerd's words", async () => {
    const id = await create({ Cmd: ["true"] });
    runner.script = (child) => child.exit({ exitCode: 0 });
    await (await post(`/v1.43/exec/${id}/start`, {})).arrayBuffer();
    const before = runner.children.length;
    const again = Buffer.from(await (await post(`/v1.43/exec/${id}/start`, {})).arrayBuffer());
    expect(byStream(again)).toEqual({ 1: `Error: Exec command ${id} has already run\r\n` });
    expect(runner.children.length).toBe(before);
  });

  it("starts a detached exec in the background without -i, and keeps its exit code", async () => {
    const id = await create({ Cmd: ["sh", "-c", "sleep 1; exit 5"], AttachStdin: true, AttachStdout: false, AttachStderr: false });
    runner.script = () => events.announce();
    const response = await post(`/v1.43/exec/${id}/start`, { Detach: true });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    const child = runner.children.at(-1)!;
    expect(child.command.args).toEqual(["exec", "--", WEB, "--", "sh", "-c", "sleep 1; exit 5"]);
    expect(await inspect(id)).toMatchObject({ Running: true, ExitCode: null });
    child.stderr.write(exitLine(5));
    child.exit({ exitCode: 1 });
    await vi.waitFor(async () => expect(await inspect(id)).toMatchObject({ Running: false, ExitCode: 5 }));
  });

  it("answers a detached start that fails with dockerd's error, as JSON", async () => {
    const id = await create({ Cmd: ["nosuch"] });
    runner.script = (child) => {
      child.stderr.write('time="x" level=fatal msg="exec: \\"nosuch\\": executable file not found in $PATH"\n');
      child.exit({ exitCode: 1 });
    };
    expect(await errorOf(await post(`/v1.43/exec/${id}/start`, { Detach: true }))).toEqual({ status: 400, message: 'exec: "nosuch": executable file not found in $PATH' });
    expect(await inspect(id)).toMatchObject({ Running: false, ExitCode: 126 });
  });

  it("answers 404 for an unknown instance, and for one whose container is gone", async () => {
    expect(await errorOf(await post("/v1.43/exec/nosuch/start", {}))).toEqual({ status: 404, message: "No such exec instance: nosuch" });
    const id = await create({ Cmd: ["ls"] });
    runner.removed.add(WEB);
    expect(await errorOf(await post(`/v1.43/exec/${id}/start`, {}))).toEqual({ status: 404, message: `No such container: ${id}` });
    expect(await errorOf(await send(app, `/v1.43/exec/${id}/json`))).toEqual({ status: 404, message: `No such exec instance: ${id}` });
  });
});

describe("POST /exec/{id}/resize", () => {
  it("resizes a running terminal, width first as a terminal takes it", async () => {
    const id = await create({ Cmd: ["sh"], Tty: true, ConsoleSize: [24, 80] });
    runner.script = () => events.announce();
    const started = post(`/v1.43/exec/${id}/start`, { Detach: true, Tty: true });
    expect((await started).status).toBe(200);
    const child = runner.children.at(-1)!;
    expect(child.options.tty).toEqual({ columns: 80, rows: 24 });
    expect(child.command.args).toEqual(["exec", "--tty", "--env=TERM=xterm", "--", WEB, "--", "sh"]);
    expect((await post(`/v1.43/exec/${id}/resize?h=40&w=120`)).status).toBe(200);
    expect(child.resize).toHaveBeenCalledWith(120, 40);
    expect(await errorOf(await post(`/v1.43/exec/${id}/resize?h=x&w=120`))).toEqual({ status: 400, message: 'strconv.Atoi: parsing "x": invalid syntax' });
    child.exit({ exitCode: 0 });
  });

  it("accepts a resize of an exec without a terminal and changes nothing, as dockerd does", async () => {
    const id = await create({ Cmd: ["sleep", "1"] });
    runner.script = () => events.announce();
    await post(`/v1.43/exec/${id}/start`, { Detach: true });
    expect((await post(`/v1.43/exec/${id}/resize?h=40&w=120`)).status).toBe(200);
    runner.children.at(-1)!.exit({ exitCode: 0 });
  });

  it("answers 404 for an unknown instance", async () => {
    expect(await errorOf(await post("/v1.43/exec/nosuch/resize?h=1&w=1"))).toEqual({ status: 404, message: "No such exec instance: nosuch" });
  });
});

/** A raw client on the daemon's socket, upgrading as the docker CLI does. */
function upgraded(id: string, body: unknown): { socket: Socket; received: () => Buffer; ended: Promise<void> } {
  const socket = connect(join(work, "d.sock"));
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = once(socket, "end").then(() => {});
  const text = JSON.stringify(body);
  socket.write(
    `POST /v1.43/exec/${id}/start HTTP/1.1\r\nHost: \r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n${text}`,
  );
  return { socket, received: () => Buffer.concat(chunks), ended };
}

const streamOf = (received: Buffer) => received.subarray(received.indexOf("\r\n\r\n") + 4);

describe("POST /exec/{id}/start over an upgraded connection", () => {
  it("relays stdin, delivers the client's half-close as EOF, and keeps the output coming", async () => {
    const id = await create({ Cmd: ["cat"], AttachStdin: true });
    runner.script = (child) => {
      child.stdin.on("data", (chunk: Buffer) => child.stdout.write(chunk));
      child.stdin.on("end", () => {
        child.stdout.write("bye");
        child.exit({ exitCode: 0 });
      });
    };
    const client = upgraded(id, { Detach: false, Tty: false });
    await vi.waitFor(() => expect(client.received().toString()).toContain("101 UPGRADED"));
    client.socket.write("hello");
    client.socket.end();
    await client.ended;
    const head = client.received().toString("latin1");
    expect(head).toMatch(/^HTTP\/1\.1 101 UPGRADED\r\nContent-Type: application\/vnd\.docker\.multiplexed-stream\r\n/);
    expect(byStream(streamOf(client.received()))).toEqual({ 1: "hellobye" });
    expect(runner.children.at(-1)!.command.args.slice(0, 2)).toEqual(["exec", "--interactive"]);
    expect(await inspect(id)).toMatchObject({ Running: false, ExitCode: 0 });
  });

  it("kills the exec's nerdctl at once when the client is gone", async () => {
    const id = await create({ Cmd: ["top"] });
    runner.script = (child) => {
      const ticking = setInterval(() => child.stdout.write("tick"), 5);
      void child.exited.then(() => clearInterval(ticking));
    };
    const client = upgraded(id, {});
    await vi.waitFor(() => expect(client.received().toString()).toContain("tick"));
    client.socket.destroy();
    const child = runner.children.at(-1)!;
    await vi.waitFor(() => expect(child.kill).toHaveBeenCalled());
  });

  it.each([
    ["its detach keys", "ls\x10\x11ignored", "ls"],
    ["the end of its input", "ls", "ls"],
  ])("detaches a terminal's client on %s, leaving the process running", async (_label, typed, reached) => {
    const id = await create({ Cmd: ["sh"], AttachStdin: true, Tty: true });
    const client = upgraded(id, { Tty: true });
    await vi.waitFor(() => expect(client.received().toString()).toContain("101 UPGRADED"));
    expect(client.received().toString()).toContain("Content-Type: application/vnd.docker.raw-stream\r\n");
    const child = runner.children.at(-1)!;
    child.stdout.write("$ ");
    client.socket.write(typed);
    if (typed === reached) client.socket.end();
    await client.ended;
    expect(streamOf(client.received()).toString()).toBe("$ ");
    expect(child.typed).toBe(reached);
    expect(child.stdinEnded).toBe(false);
    expect(child.kill).not.toHaveBeenCalled();
    expect(await inspect(id)).toMatchObject({ Running: true, ExitCode: null });
    // The process's later output goes nowhere, and its end is still recorded.
    child.stdout.write("unseen");
    child.stdout.write(`\x1b[31mFATA\x1b[0m[0000] exec failed with exit code 4 \r\n`);
    child.exit({ exitCode: 1 });
    await vi.waitFor(async () => expect(await inspect(id)).toMatchObject({ Running: false, ExitCode: 4 }));
  });

  it("honours the exec's own detach keys", async () => {
    const id = await create({ Cmd: ["sh"], AttachStdin: true, Tty: true, DetachKeys: "ctrl-x,x" });
    const client = upgraded(id, { Tty: true });
    await vi.waitFor(() => expect(client.received().toString()).toContain("101 UPGRADED"));
    client.socket.write("a\x10\x11b\x18x");
    await client.ended;
    const child = runner.children.at(-1)!;
    expect(child.typed).toBe("a\x10\x11b");
    child.exit({ exitCode: 0 });
  });
});
