import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { defineHandler } from "h3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { createDaemonApp } from "./app.ts";
import { hijack, wantsHijack } from "./hijack.ts";
import { listenOn, type Listening } from "./listen.ts";
import { parseTemplate } from "./resolve.ts";
import { defineRoute } from "./route.ts";
import { pullStream } from "./streams.ts";

/*
 * What a slow or idle client may hold on the daemon's socket, and what it
 * may not take from the others: hijacked and streaming connections.
 */

/** The stream GET /events answers with in these tests: one chunk, then silence until the test writes more. */
let stream: PassThrough;

const routes = [
  {
    method: "POST",
    template: parseTemplate("/containers/{id}/attach"),
    layer: "1.43",
    handler: defineHandler((event) => {
      if (!wantsHijack(event)) return { upgraded: false };
      const socket = hijack(event);
      socket.pipe(socket);
      return "";
    }),
  },
  {
    method: "GET",
    template: parseTemplate("/events"),
    layer: "1.43",
    handler: defineHandler(() => {
      stream.write("first\n");
      return new Response(pullStream(stream, () => {}), { headers: { "Content-Type": "application/json" } });
    }),
  },
  { method: "GET", template: parseTemplate("/version"), layer: "1.43", handler: defineHandler(() => ({ Version: "test" })) },
  { method: "POST", template: parseTemplate("/volumes/create"), layer: "1.43", handler: defineRoute(async (request) => ({ got: await request.json() })) },
];

function appWith(readOnly = false, bodyIdleMs?: number) {
  return createDaemonApp({
    routes,
    services: { nerdctl: new Nerdctl(new ReplayRunner([])), facts: () => ({}) as never },
    daemonVersion: "test",
    readOnly,
    bodyIdleMs,
  });
}

let dir: string;
let listening: Listening | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nerdctld-limits-"));
  stream = new PassThrough();
});
afterEach(async () => {
  stream.end();
  listening?.destroyConnections();
  await listening?.stopAccepting();
  listening = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A raw client: what it has received, waits for more, and whether the server closed it. */
function client(path: string, text: string) {
  const socket: Socket = connect(path);
  let received = "";
  const waiters: (() => void)[] = [];
  socket.on("data", (chunk) => {
    received += chunk.toString();
    waiters.splice(0).forEach((wake) => wake());
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write(text);
  return {
    socket,
    get received() {
      return received;
    },
    closed,
    until: async (pattern: RegExp) => {
      while (!pattern.test(received)) await new Promise<void>((wake) => waiters.push(wake));
    },
  };
}

const ATTACH = "POST /v1.43/containers/abc/attach HTTP/1.1\r\nHost: \r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

describe("hijacked connections", () => {
  it("answer 101 with the request's id", async () => {
    const path = join(dir, "d.sock");
    listening = await listenOn(`unix://${path}`, appWith());
    const attach = client(path, ATTACH);
    await attach.until(/\r\n\r\n/);
    expect(attach.received).toMatch(/^HTTP\/1\.1 101 UPGRADED\r\n(.+\r\n)*X-Request-Id: [0-9a-f]{12}\r\n/);
    attach.socket.destroy();
  });

  it("are refused with --read-only-api before the connection is taken (403, Docker's JSON error)", async () => {
    const path = join(dir, "d.sock");
    listening = await listenOn(`unix://${path}`, appWith(true));
    const attach = client(path, `${ATTACH}typed`);
    await attach.closed;
    expect(attach.received).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(attach.received).toMatch(/\r\nx-request-id: [0-9a-f]{12}\r\n/i);
    expect(attach.received).toContain('{"message":"the API is read-only: nerdctld serves reads only (--read-only-api)"}');
  });
});

describe("slow and idle clients", () => {
  const timeouts = { headersMs: 300, keepAliveMs: 300, checkIntervalMs: 50 };

  it("a client that does not finish its headers gets a 408 and is closed; attach and streaming responses opened before it are not", async () => {
    const path = join(dir, "d.sock");
    listening = await listenOn(`unix://${path}`, appWith(), { timeouts });
    const attach = client(path, ATTACH);
    await attach.until(/\r\n\r\n/);
    const events = client(path, "GET /v1.43/events HTTP/1.1\r\nHost: \r\n\r\n");
    await events.until(/first\n/);

    const slow = client(path, "GET /v1.43/version HTTP/1.1\r\nHost: \r\nUser-Agent: slo");
    await slow.closed;
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    const silent = client(path, "");
    await silent.closed;
    expect(silent.received).toMatch(/^HTTP\/1\.1 408 /);

    // Both silent longer than the headers timeout, both still served.
    attach.socket.write("still attached");
    await attach.until(/still attached$/);
    stream.write("second\n");
    await events.until(/second\n/);
    expect(attach.socket.destroyed || events.socket.destroyed).toBe(false);
    attach.socket.destroy();
    events.socket.destroy();
  });

  it("a JSON body that stops coming is refused with a 408 and the connection closed; one that keeps coming is read", async () => {
    const path = join(dir, "d.sock");
    listening = await listenOn(`unix://${path}`, appWith(false, 300), { timeouts: { ...timeouts, headersMs: 5_000 } });
    const head = (length: number) => `POST /v1.43/volumes/create HTTP/1.1\r\nHost: \r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

    const stalled = client(path, `${head(20)}{"Name":`);
    await stalled.closed;
    expect(stalled.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(stalled.received).toMatch(/\r\nconnection: close\r\n/i);
    expect(stalled.received).toContain('{"message":"no request body received for 0.3 s"}');

    // Ten pieces 100 ms apart: a second in all, never 300 ms without a byte.
    const body = '{"Name":"trickled"}';
    const steady = client(path, head(body.length));
    for (let at = 0; at < body.length; at += 2) {
      await new Promise((wait) => setTimeout(wait, 100));
      steady.socket.write(body.slice(at, at + 2));
    }
    await steady.until(/\{"got":\{"Name":"trickled"\}\}/);
    expect(steady.received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    steady.socket.destroy();
  });

  it("closes a connection left idle after its response (keep-alive)", async () => {
    const path = join(dir, "d.sock");
    listening = await listenOn(`unix://${path}`, appWith(), { timeouts });
    const idle = client(path, "GET /v1.43/version HTTP/1.1\r\nHost: \r\n\r\n");
    await idle.until(/"Version":"test"/);
    expect(idle.received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(idle.received).toMatch(/\r\nKeep-Alive: timeout=\d+\r\n/i);
    await idle.closed;
  });
});
