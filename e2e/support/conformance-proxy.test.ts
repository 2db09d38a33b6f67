// The conformance proxy against a tiny fake daemon on a unix socket: what it checks, and that it
// stays out of the way (streams arrive as they are sent, upgrades carry raw bytes both ways).
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { formatViolations, operationOf, parseJsonDocuments, startConformanceProxy, type ConformanceProxy } from "./conformance-proxy.ts";

const GOOD_VERSION = {
  Platform: { Name: "fake" },
  Components: [{ Name: "Engine", Version: "1.0.0" }],
  Version: "1.0.0",
  ApiVersion: "1.43",
  MinAPIVersion: "1.24",
  Os: "linux",
  Arch: "amd64",
};

/** A promise with its resolve function, to make the fake daemon wait for the test. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms).unref()),
  ]);
}

let dir: string;
let fake: Server;
let proxy: ConformanceProxy;
/** Set by a test to see the request the fake daemon got. */
let streamGate = gate();
let clientGone = gate();

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function fakeDaemon(req: IncomingMessage, res: ServerResponse): void {
  switch (req.url) {
    case "/version":
    case "/v1.43/version":
      return json(res, 200, GOOD_VERSION);
    case "/v1.41/version":
      // ApiVersion as a number and Components without Version: two violations.
      return json(res, 200, { ...GOOD_VERSION, ApiVersion: 1.41, Components: [{ Name: "Engine" }] });
    case "/v1.43/containers/create": {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => json(res, 201, { Id: `id-of-${JSON.parse(body).Image}`, Warnings: [] }));
      return;
    }
    case "/events": {
      // Two events, then the next only once the test has seen the first two through the proxy.
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(`${JSON.stringify({ Type: "container", Action: "start", time: 1 })}\n`);
      res.write(`${JSON.stringify({ Type: "container", Action: "die", time: 2 })}\n`);
      streamGate.promise.then(() => res.end(`${JSON.stringify({ Type: "container", Action: "stop", time: "three" })}\n`));
      return;
    }
    case "/containers/web/logs?follow=1": {
      res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
      res.write("line 1\n");
      // Never ends on its own: only the client leaving ends it.
      res.on("close", () => clientGone.open());
      return;
    }
    case "/images/json":
      // Bigger than the proxy's JSON limit in this suite: passed on whole, not checked.
      return json(res, 200, [{ Id: "x".repeat(4096) }]);
    case "/no/such/endpoint":
      return json(res, 404, { message: 404 });
    default:
      return json(res, 404, { message: `page not found: ${req.url}` });
  }
}

/** Upgrade: 101, then echo every byte (the request body first); on the client's half-close, say bye and end. */
function fakeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (req.url === "/v1.43/exec/missing/start") {
    const text = JSON.stringify({ message: 404 });
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
    return;
  }
  socket.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  if (head.length > 0) socket.write(head);
  socket.on("data", (chunk: Buffer) => socket.write(chunk));
  socket.on("end", () => socket.end("bye"));
}

interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

function call(method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: proxy.socketPath, method, path, headers: body ? { "Content-Type": "application/json" } : {} }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    // Written in two pieces without a length: the proxy must pass a chunked body on.
    if (body) {
      req.write(body.slice(0, 5));
      req.write(body.slice(5));
    }
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ncpt-"));
  fake = createServer(fakeDaemon);
  fake.on("upgrade", fakeUpgrade);
  await new Promise<void>((resolve) => fake.listen(join(dir, "fake.sock"), resolve));
  proxy = await startConformanceProxy(`unix://${join(dir, "fake.sock")}`, { maxJsonBytes: 1024 });
});

afterEach(() => {
  proxy.violations.length = 0;
});

afterAll(async () => {
  await proxy?.stop();
  fake.closeAllConnections();
  await new Promise((resolve) => fake.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("operationOf", () => {
  it.each([
    ["GET", "/version", "/version"],
    ["GET", "/v1.41/images/registry.k8s.io/pause:3.8/json?x=1", "/images/{name}/json"],
    ["POST", "/v1.43/containers/web/start", "/containers/{id}/start"],
    ["HEAD", "/_ping", "/_ping"],
  ])("%s %s is %s", (method, path, template) => {
    expect(operationOf(method, path)).toBe(template);
  });

  it("knows no template for a path the API does not have", () => {
    expect(operationOf("GET", "/no/such/endpoint")).toBeUndefined();
  });
});

describe("parseJsonDocuments", () => {
  it("reads one document or a newline-separated stream, and nothing else", () => {
    expect(parseJsonDocuments('{"a":1}')).toEqual([{ a: 1 }]);
    expect(parseJsonDocuments('{"a":1}\n{"a":2}\n')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parseJsonDocuments("not json")).toBeUndefined();
    expect(parseJsonDocuments('{"a":1}\n{"a":')).toBeUndefined();
  });
});

describe("startConformanceProxy", () => {
  it("passes a conforming /version through and records nothing", async () => {
    const answer = await call("GET", "/version");
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(GOOD_VERSION);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(proxy.violations).toEqual([]);
  });

  it("records a violating /version with its template, status and problems, and still passes it on", async () => {
    const before = proxy.checked();
    const answer = await call("GET", "/v1.41/version");
    expect(JSON.parse(answer.body).ApiVersion).toBe(1.41);
    expect(proxy.checked()).toBe(before + 1);
    expect(proxy.violations).toEqual([
      {
        method: "GET",
        path: "/v1.41/version",
        template: "/version",
        status: 200,
        problems: expect.arrayContaining(["/ApiVersion must be string", "/Components/0 must have required property 'Version'"]),
      },
    ]);
    expect(formatViolations(proxy.violations)).toContain("GET /version → 200 (/v1.41/version):\n  - ");
  });

  it("forwards a request body sent in chunks", async () => {
    const answer = await call("POST", "/v1.43/containers/create", JSON.stringify({ Image: "busybox" }));
    expect([answer.status, JSON.parse(answer.body)]).toEqual([201, { Id: "id-of-busybox", Warnings: [] }]);
    expect(proxy.violations).toEqual([]);
  });

  it("does not check JSON from a path the API does not have", async () => {
    const answer = await call("GET", "/no/such/endpoint");
    expect(answer.status).toBe(404);
    expect(proxy.violations).toEqual([]);
  });

  it("passes a JSON body over its limit on whole, unchecked", async () => {
    const answer = await call("GET", "/images/json");
    expect(JSON.parse(answer.body)[0].Id).toHaveLength(4096);
    expect(proxy.violations).toEqual([]);
  });

  it("delivers a streamed JSON response as it comes, then checks each document of it", async () => {
    streamGate = gate();
    const received: string[] = [];
    const done = new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: proxy.socketPath, path: "/events" }, (res) => {
        let text = "";
        res.on("data", (chunk) => {
          text += chunk;
          received.push(String(chunk));
          // The daemon sends the last event only after this: a proxy that held the body back would hang here.
          if (text.split("\n").length - 1 === 2) streamGate.open();
        });
        res.on("end", () => resolve(text.split("\n").length - 1));
      });
      req.on("error", reject);
      req.end();
    });
    expect(await withTimeout(done, 3000, "the first two events never arrived before the end of the stream")).toBe(3);
    expect(proxy.violations).toEqual([
      { method: "GET", path: "/events", template: "/events", status: 200, problems: ["document 2: /time must be integer"] },
    ]);
  });

  it("ends the daemon's response when the client goes away mid-stream", async () => {
    clientGone = gate();
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: proxy.socketPath, path: "/containers/web/logs?follow=1" }, (res) => {
        res.once("data", (chunk) => {
          expect(String(chunk)).toBe("line 1\n");
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => undefined);
      req.on("close", () => resolve());
      req.end();
      setTimeout(() => reject(new Error("no first log line")), 3000).unref();
    });
    await withTimeout(clientGone.promise, 3000, "the daemon never saw the client leave");
  });

  it("pipes an upgraded connection raw both ways, request body and half-close included", async () => {
    const body = JSON.stringify({ Detach: false, Tty: false });
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = request({
        socketPath: proxy.socketPath,
        method: "POST",
        path: "/v1.43/exec/abc/start",
        headers: { Connection: "Upgrade", Upgrade: "tcp", "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      });
      req.on("upgrade", (res, upgraded: Socket, head) => {
        expect(res.statusCode).toBe(101);
        expect(res.headers["content-type"]).toBe("application/vnd.docker.raw-stream");
        if (head.length > 0) upgraded.unshift(head);
        resolve(upgraded);
      });
      req.on("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on("error", reject);
      req.end(body);
    });
    let echoed = "";
    const ended = new Promise<void>((resolve) => socket.on("end", resolve));
    socket.on("data", (chunk) => (echoed += chunk));
    socket.write("ping\x00\x01");
    await withTimeout(
      (async () => {
        while (!echoed.endsWith("ping\x00\x01")) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      3000,
      `echo, got ${JSON.stringify(echoed)}`,
    );
    socket.end("pong");
    await withTimeout(ended, 3000, "the daemon's end after the client's half-close");
    expect(echoed).toBe(`${body}ping\x00\x01pongbye`);
    socket.destroy();
    expect(proxy.violations).toEqual([]);
  });

  it("checks the JSON of an upgrade request the daemon refuses", async () => {
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = request({
        socketPath: proxy.socketPath,
        method: "POST",
        path: "/v1.43/exec/missing/start",
        headers: { Connection: "Upgrade", Upgrade: "tcp" },
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on("upgrade", () => reject(new Error("upgraded")));
      req.on("error", reject);
      req.end();
    });
    expect([answer.status, answer.body]).toEqual([404, '{"message":404}']);
    expect(proxy.violations).toEqual([
      { method: "POST", path: "/v1.43/exec/missing/start", template: "/exec/{id}/start", status: 404, problems: ["/message must be string"] },
    ]);
  });

  it("answers 502 in Docker's error shape when the daemon is not there", async () => {
    const lonely = await startConformanceProxy(join(dir, "nobody.sock"));
    try {
      const answer = await new Promise<Answer>((resolve, reject) => {
        const req = request({ socketPath: lonely.socketPath, path: "/_ping" }, (res) => {
          let text = "";
          res.on("data", (chunk) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        });
        req.on("error", reject);
        req.end();
      });
      expect(answer.status).toBe(502);
      expect(JSON.parse(answer.body).message).toMatch(/^conformance proxy: cannot reach .*nobody\.sock/);
    } finally {
      await lonely.stop();
    }
  });
});
