import { mkdtemp, rm } from "node:fs/promises";
import { request, type ClientRequest, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { H3, type H3Event } from "h3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listenOn, type Listening } from "./listen.ts";
import { binaryResponse, clientGone, pipeInto, readLines, requestBody, WriteBatcher } from "./streams.ts";

/** Waits until check() holds, or fails after timeoutMs. */
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

/**
 * The daemon's real server path (listen.ts → srvx → h3) on a unix socket,
 * with handlers each test installs.
 */
let handler: (event: H3Event) => unknown = () => "";
let work: string;
let listening: Listening;
let socketPath: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-streams-"));
  socketPath = join(work, "s.sock");
  const app = new H3({ silent: true });
  app.all("/**", (event) => handler(event));
  listening = await listenOn(`unix://${socketPath}`, app);
});

afterAll(async () => {
  listening.destroyConnections();
  await listening.stopAccepting();
  await rm(work, { recursive: true, force: true });
});

function open(method: string, path: string, onResponse?: (res: IncomingMessage) => void): ClientRequest {
  const req = request({ socketPath, method, path }, onResponse);
  req.on("error", () => {});
  return req;
}

describe("clientGone (h3's request signal on Node)", () => {
  it("aborts when the client disconnects before any response was sent", async () => {
    let aborted = false;
    handler = async (event) => {
      const signal = clientGone(event);
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      aborted = true;
      return "late";
    };
    const req = open("GET", "/wait");
    req.end();
    await sleep(100);
    req.destroy();
    await until(() => aborted);
  });

  it("aborts, and cancels the body's source, when the client disconnects mid-stream", async () => {
    let aborted = false;
    let cancelled = false;
    let produced = 0;
    handler = (event) => {
      clientGone(event).addEventListener("abort", () => (aborted = true));
      const chunks = (async function* () {
        for (;;) {
          produced += 1;
          yield new Uint8Array(64 * 1024);
          await sleep(1);
        }
      })();
      return binaryResponse(chunks, "application/x-tar", () => (cancelled = true));
    };
    let received = 0;
    const req = open("GET", "/stream", (res) => {
      expect(res.headers["content-type"]).toBe("application/x-tar");
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > 256 * 1024) req.destroy();
      });
    });
    req.end();
    await until(() => aborted && cancelled);
    const producedAtCancel = produced;
    await sleep(100);
    expect(produced).toBe(producedAtCancel);
  });

  it("keeps a signal that never fires for a client that reads everything", async () => {
    let signal: AbortSignal | undefined;
    handler = (event) => {
      signal = clientGone(event);
      return binaryResponse(Readable.from([Buffer.from("a"), Buffer.from("b")]), "text/plain", () => {});
    };
    const body = await new Promise<string>((resolve) => {
      open("GET", "/done", (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk));
        res.on("end", () => resolve(text));
      }).end();
    });
    expect(body).toBe("ab");
    await sleep(50);
    expect(signal?.aborted).toBe(false);
  });
});

describe("back-pressure", () => {
  it("pulls from the source only as fast as the client reads", async () => {
    let produced = 0;
    handler = () =>
      binaryResponse(
        (async function* () {
          for (;;) {
            produced += 1;
            yield new Uint8Array(64 * 1024);
          }
        })(),
        "application/octet-stream",
        () => {},
      );
    let response: IncomingMessage | undefined;
    const req = open("GET", "/pressure", (res) => {
      response = res;
      res.pause();
    });
    req.end();
    await until(() => response !== undefined);
    await sleep(300);
    const stalled = produced;
    await sleep(300);
    // Socket buffers hold a few chunks; an unbounded pipe would have produced thousands by now.
    expect(produced).toBe(stalled);
    expect(produced * 64 * 1024).toBeLessThan(16 * 1024 * 1024);
    req.destroy();
  });

  it("reads a request body only as fast as the consumer takes it", async () => {
    let consumed = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    handler = async (event) => {
      const slow = new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _encoding, done) {
          consumed += chunk.length;
          if (consumed > 1024 * 1024) void gate.then(() => done());
          else done();
        },
      });
      await pipeInto(requestBody(event), slow);
      finished = true;
      return "ok";
    };
    const req = open("POST", "/upload", () => {});
    let sent = 0;
    let writable = true;
    const chunk = Buffer.alloc(64 * 1024);
    // Write until the socket pushes back.
    while (writable && sent < 64 * 1024 * 1024) {
      writable = req.write(chunk);
      sent += chunk.length;
      if (!writable) await Promise.race([new Promise((resolve) => req.once("drain", resolve)), sleep(300)]);
      writable = writable || req.writableLength === 0;
      if (sent > 8 * 1024 * 1024) break;
    }
    await sleep(200);
    expect(consumed).toBeLessThan(4 * 1024 * 1024);
    expect(finished).toBe(false);
    release();
    req.end();
    await until(() => finished);
  });
});

describe("pipeInto", () => {
  it("delivers the whole source and settles when the target finished", async () => {
    const target = new PassThrough();
    const collected: Buffer[] = [];
    target.on("data", (chunk: Buffer) => collected.push(chunk));
    await pipeInto(Readable.from([Buffer.from("he"), Buffer.from("llo")]), target);
    expect(Buffer.concat(collected).toString()).toBe("hello");
  });

  it("settles, draining the rest, when the target stops accepting (the child exited)", async () => {
    const target = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error("EPIPE"), { code: "EPIPE" }));
      },
    });
    const source = Readable.from((function* () {
      for (let i = 0; i < 100; i++) yield Buffer.alloc(1024);
    })());
    await pipeInto(source, target);
    await until(() => source.readableEnded);
  });

  /** A target recording how many chunks each of its writes carried. */
  function recordingTarget(highWaterMark: number): { target: Writable; writes: number[]; bytes: () => number } {
    const writes: number[] = [];
    let bytes = 0;
    const target = new Writable({
      highWaterMark,
      write(chunk: Buffer, _encoding, done) {
        writes.push(1);
        bytes += chunk.length;
        setImmediate(done);
      },
      writev(chunks, done) {
        writes.push(chunks.length);
        for (const { chunk } of chunks) bytes += (chunk as Buffer).length;
        setImmediate(done);
      },
    });
    return { target, writes, bytes: () => bytes };
  }

  const chunks = (count: number, size: number) =>
    Readable.from((function* () {
      for (let i = 0; i < count; i++) yield Buffer.alloc(size, i % 256);
    })());

  it("gathers small chunks into vectored writes when the target has room", async () => {
    const { target, writes, bytes } = recordingTarget(4 * 1024 * 1024);
    await pipeInto(chunks(256, 16 * 1024), target);
    expect(bytes()).toBe(256 * 16 * 1024);
    expect(writes.length).toBeLessThan(16);
    expect(Math.max(...writes)).toBeGreaterThan(16);
  });

  it("does not hold chunks back from a target with a small buffer", async () => {
    const { target, writes, bytes } = recordingTarget(16 * 1024);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      // Fake timers never fire: only flushes that need no timer move the data.
      await pipeInto(chunks(64, 32 * 1024), target);
    } finally {
      vi.useRealTimers();
    }
    expect(bytes()).toBe(64 * 32 * 1024);
    expect(writes.length).toBeGreaterThan(0);
  });

  it("keeps gathering past the target's high-water mark until a batch is full (save's own limit decides)", async () => {
    const { target, writes, bytes } = recordingTarget(16 * 1024);
    const batcher = new WriteBatcher(target);
    for (let i = 0; i < 32; i++) batcher.write(Buffer.alloc(16 * 1024));
    batcher.flush();
    await new Promise<void>((resolve) => target.end(resolve));
    expect(bytes()).toBe(32 * 16 * 1024);
    expect(writes).toEqual([32]);
  });

  it("rejects and closes the target when the source breaks (the client went away)", async () => {
    const source = new PassThrough();
    const target = new PassThrough();
    target.resume();
    const piping = pipeInto(source, target);
    source.write("partial");
    source.destroy(new Error("aborted"));
    await expect(piping).rejects.toThrow("aborted");
    expect(target.destroyed).toBe(true);
  });
});

describe("readLines", () => {
  it("splits chunks into lines, whatever the chunk boundaries", async () => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from([Buffer.from("a\nb"), Buffer.from("c\n\nd")]))) lines.push(line);
    expect(lines).toEqual(["a", "bc", "", "d"]);
  });

  it("cuts a line longer than the limit instead of holding it", async () => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from(["x".repeat(25)]), 10)) lines.push(line);
    expect(lines).toEqual(["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
  });
});
