import { mkdtemp, rm } from "node:fs/promises";
import { request, type ClientRequest, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { PassThrough, Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { H3, type H3Event } from "h3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOn, type Listening } from "./listen.ts";
import { pipeInto } from "../io/pipe.ts";
import { binaryResponse, clientGone, requestBody } from "./streams.ts";

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
    // A generator cancelled while it awaits finishes the chunk it is making before the cancel reaches it.
    await sleep(20);
    const producedAfterCancel = produced;
    await sleep(100);
    expect(produced).toBe(producedAfterCancel);
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

describe("headers", () => {
  it("leave before the first byte of a live source (a quiet logs --follow)", async () => {
    const quiet = new PassThrough();
    handler = () => binaryResponse(quiet, "application/vnd.docker.multiplexed-stream", () => {}, { live: true });
    const response = await new Promise<IncomingMessage>((resolve) => open("GET", "/logs", resolve).end());
    expect(response.headers["content-type"]).toBe("application/vnd.docker.multiplexed-stream");
    let text = "";
    response.on("data", (chunk: Buffer) => (text += chunk));
    quiet.end("later");
    await once(response, "end");
    expect(text).toBe("later");
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
