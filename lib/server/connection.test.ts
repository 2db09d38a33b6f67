import { mkdtemp, rm } from "node:fs/promises";
import { request, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { noSuch } from "../errors.ts";
import type { ClientConnection } from "../io/connection.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { createDaemonApp } from "./app.ts";
import { listenOn, type Listening } from "./listen.ts";
import { parseTemplate } from "./resolve.ts";
import { defineRoute } from "./route.ts";

/** What the session of the current test does with the connection; sessions report what they saw here. */
let session: (connection: ClientConnection, body: unknown) => Promise<void> = async () => {};

/** A route shaped as exec start is: read and check the request, then take the connection over. */
const stream = defineRoute(async (request) => {
  const body = await request.json();
  if (request.param("id") === "missing") throw noSuch("exec", "missing");
  return request.serve("application/vnd.docker.multiplexed-stream", (connection) => session(connection, body));
});

/** A route shaped as attach is: the options are in the query, the body is not read. */
const attach = defineRoute((request) => request.serve("application/vnd.docker.raw-stream", (connection) => session(connection, undefined)));

let work: string;
let socketPath: string;
let listening: Listening;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-connection-"));
  socketPath = join(work, "d.sock");
  const app = createDaemonApp({
    routes: [
      { method: "POST", template: parseTemplate("/exec/{id}/start"), layer: "1.43", handler: stream },
      { method: "POST", template: parseTemplate("/containers/{id}/attach"), layer: "1.43", handler: attach },
    ],
    services: { nerdctl: new Nerdctl(new ReplayRunner([])), facts: () => { throw new Error("unused"); } },
    daemonVersion: "test",
  });
  listening = await listenOn(`unix://${socketPath}`, app);
});

afterAll(async () => {
  listening.destroyConnections();
  await listening.stopAccepting();
  await rm(work, { recursive: true, force: true });
});

/** An upgrade request as the docker CLI writes it: headers, the JSON body, and then whatever `after` is, in one write. */
function upgradeRequest(id: string, body: string, after = "", path = `/v1.43/exec/${id}/start`): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n${body}${after}`
  );
}

/** A raw client: everything it has received so far, and when the server ended its side. */
function rawClient(): { socket: Socket; received: () => string; ended: Promise<void> } {
  const socket = connect(socketPath);
  let text = "";
  socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
  const ended = once(socket, "end").then(() => {});
  return { socket, received: () => text, ended };
}

const afterHeaders = (text: string) => text.slice(text.indexOf("\r\n\r\n") + 4);

describe("RouteRequest.serve over a unix socket", () => {
  it("answers 101 with the content type, reads the body first and hands the bytes after it over, both ways", async () => {
    let seenBody: unknown;
    session = async ({ input, output }, body) => {
      seenBody = body;
      for await (const chunk of input) {
        output.write(`echo:${String(chunk)}`);
        if (String(chunk).includes("last")) break;
      }
    };
    const client = rawClient();
    client.socket.write(upgradeRequest("e1", '{"Detach":false,"Tty":false}', "typed early;"));
    await vi.waitFor(() => expect(client.received()).toContain("echo:typed early;"));
    client.socket.write("last");
    await client.ended;
    const text = client.received();
    expect(text).toMatch(/^HTTP\/1\.1 101 UPGRADED\r\n/);
    expect(text).toContain("Content-Type: application/vnd.docker.multiplexed-stream\r\n");
    expect(afterHeaders(text)).toBe("echo:typed early;echo:last");
    expect(seenBody).toEqual({ Detach: false, Tty: false });
  });

  it("reads a body that arrives after the headers in pieces", async () => {
    let seenBody: unknown;
    session = async ({ output }, body) => {
      seenBody = body;
      output.write("done");
    };
    const client = rawClient();
    const full = upgradeRequest("e2", '{"Tty":true,"ConsoleSize":[24,80]}');
    const split = full.length - 10;
    client.socket.write(full.slice(0, split));
    await sleep(50);
    client.socket.write(full.slice(split));
    await client.ended;
    expect(seenBody).toEqual({ Tty: true, ConsoleSize: [24, 80] });
    expect(afterHeaders(client.received())).toBe("done");
  });

  it("delivers the client's half-close as the end of the input while output still reaches it", async () => {
    const events: string[] = [];
    session = async ({ input, output }) => {
      let typed = "";
      for await (const chunk of input) typed += String(chunk);
      events.push(`input ended after ${JSON.stringify(typed)}`);
      // Output after the client's end of input: a process printing what it read once stdin closed.
      for (const word of ["still ", "flowing"]) {
        await sleep(20);
        output.write(word);
      }
    };
    const client = rawClient();
    client.socket.write(upgradeRequest("e3", "{}", "abc"));
    await vi.waitFor(() => expect(client.received()).toContain("101 UPGRADED"));
    client.socket.end();
    await client.ended;
    expect(events).toEqual(['input ended after "abc"']);
    expect(afterHeaders(client.received())).toBe("still flowing");
  });

  it("signals when the client is gone entirely (found when output no longer reaches it)", async () => {
    let reachedGone = false;
    session = async ({ output, gone }) => {
      const ticking = setInterval(() => output.write("tick"), 10);
      await once(gone, "abort");
      clearInterval(ticking);
      reachedGone = true;
    };
    const client = rawClient();
    client.socket.write(upgradeRequest("e4", "{}"));
    await vi.waitFor(() => expect(client.received()).toContain("101 UPGRADED"));
    client.socket.destroy();
    await vi.waitFor(() => expect(reachedGone).toBe(true));
  });

  it("answers an error found before the takeover as Docker's JSON error, upgrade asked or not", async () => {
    session = async () => {
      throw new Error("the session must not run");
    };
    const client = rawClient();
    client.socket.write(upgradeRequest("missing", "{}"));
    await client.ended;
    expect(client.received()).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(afterHeaders(client.received())).toBe('{"message":"No such exec instance: missing"}\n');
  });

  it("does not take a body the route left unread as input: dockerode sends its attach options as one", async () => {
    let typed = "";
    session = async ({ input, output }) => {
      for await (const chunk of input) typed += String(chunk);
      output.write("bye");
    };
    const client = rawClient();
    const options = '{"stream":true,"stdin":true,"stdout":true,"hijack":true}';
    client.socket.write(upgradeRequest("c1", options, "hello\n", "/containers/c1/attach?stream=1&stdin=1&stdout=1"));
    await vi.waitFor(() => expect(client.received()).toContain("101 UPGRADED"));
    client.socket.end();
    await client.ended;
    expect(typed).toBe("hello\n");
    expect(afterHeaders(client.received())).toBe("bye");
  });

  it("sends a 200's status and headers before the session writes anything (dockerode starts the container only then)", async () => {
    let release: () => void = () => {};
    session = async ({ output }) => {
      await new Promise<void>((resolve) => (release = resolve));
      output.write("started");
    };
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ socketPath, path: "/containers/c2/attach?stream=1&stdout=1", method: "POST" }, resolve).on("error", reject).end();
    });
    expect(response.statusCode).toBe(200);
    let text = "";
    response.on("data", (chunk: Buffer) => (text += chunk.toString()));
    release();
    await once(response, "end");
    expect(text).toBe("started");
  });

  it("streams the output in a 200 to a client that did not ask for an upgrade, as it comes", async () => {
    let release: () => void = () => {};
    session = async ({ input, output }) => {
      output.write("first ");
      await new Promise<void>((resolve) => (release = resolve));
      let typed = "";
      for await (const chunk of input) typed += String(chunk);
      output.write(`then input ${JSON.stringify(typed)}`);
    };
    const chunks: string[] = [];
    const response = await new Promise<{ status: number; type: string | undefined; done: Promise<void> }>((resolve, reject) => {
      request({ socketPath, path: "/v1.43/exec/e5/start", method: "POST", headers: { "Content-Type": "application/json" } }, (res) => {
        res.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
        resolve({ status: res.statusCode!, type: res.headers["content-type"], done: once(res, "end").then(() => {}) });
      })
        .on("error", reject)
        .end("{}");
    });
    expect(response.status).toBe(200);
    expect(response.type).toBe("application/vnd.docker.raw-stream");
    await vi.waitFor(() => expect(chunks.join("")).toBe("first "));
    release();
    await response.done;
    // The body was the request's JSON: nothing is left of it for input.
    expect(chunks.join("")).toBe('first then input ""');
  });
});
