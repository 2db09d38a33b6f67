import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineHandler } from "h3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { createDaemonApp } from "./app.ts";
import { hijack, wantsHijack } from "./hijack.ts";
import { ListenError, listenOn, type Listening } from "./listen.ts";
import { parseTemplate } from "./resolve.ts";

/** A route that, when the client upgrades, echoes raw bytes back: the plumbing attach and exec use. */
const echo = defineHandler((event) => {
  if (!wantsHijack(event)) return { upgraded: false };
  const socket = hijack(event);
  socket.pipe(socket);
  return "";
});

const app = createDaemonApp({
  routes: [{ method: "POST", template: parseTemplate("/containers/{id}/attach"), layer: "1.43", handler: echo }],
  services: { nerdctl: new Nerdctl(new ReplayRunner([])), facts: () => { throw new Error("unused"); } },
  daemonVersion: "test",
});

let dir: string;
let listening: Listening | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nerdctld-listen-"));
});
afterEach(async () => {
  if (listening) {
    listening.destroyConnections();
    await listening.stopAccepting();
    listening = undefined;
  }
  await rm(dir, { recursive: true, force: true });
});

/** Sends one raw HTTP request and collects everything the server writes until `until` matches. */
function rawExchange(path: string, text: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString();
      if (until.test(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on("error", reject);
    socket.write(text);
  });
}

describe("unix listener", () => {
  it("serves the API with mode 0660", async () => {
    const path = join(dir, "nerdctl.sock");
    listening = await listenOn(`unix://${path}`, app);
    expect((await stat(path)).mode & 0o777).toBe(0o660);
    const status = await new Promise<number>((resolve, reject) => {
      request({ socketPath: path, path: "/v1.43/containers/abc/attach", method: "POST" }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
        .on("error", reject)
        .end();
    });
    expect(status).toBe(200);
  });

  it("hands upgraded connections to the route with the raw socket (101, then raw bytes both ways)", async () => {
    const path = join(dir, "nerdctl.sock");
    listening = await listenOn(`unix://${path}`, app);
    const received = await rawExchange(
      path,
      "POST /v1.43/containers/abc/attach?stream=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello raw",
      /hello raw$/,
    );
    expect(received).toMatch(/^HTTP\/1\.1 101 UPGRADED\r\n/);
    expect(received).toContain("Content-Type: application/vnd.docker.raw-stream");
    expect(received.endsWith("\r\n\r\nhello raw")).toBe(true);
  });

  it("takes an upgrade with an empty Host header, as the docker CLI 20.10 sends on a unix socket", async () => {
    const path = join(dir, "nerdctl.sock");
    listening = await listenOn(`unix://${path}`, app);
    const received = await rawExchange(
      path,
      "POST /v1.41/containers/abc/attach?stream=1 HTTP/1.1\r\nHost: \r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nstill here",
      /still here$/,
    );
    expect(received).toMatch(/^HTTP\/1\.1 101 UPGRADED\r\n/);
  });

  it("answers an upgrade to a route that does not hijack with a plain HTTP response", async () => {
    const path = join(dir, "nerdctl.sock");
    listening = await listenOn(`unix://${path}`, app);
    const received = await rawExchange(
      path,
      "POST /v1.99/containers/abc/attach HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
      /\}\n$/,
    );
    expect(received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(received).toContain('{"message":"client version 1.99 is too new. Maximum supported API version is 1.43"}');
  });

  it("replaces a stale socket file nobody listens on", async () => {
    const path = join(dir, "nerdctl.sock");
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(path, resolve));
    // Simulate a crash: the file stays but nothing accepts any more.
    (stale as unknown as { _handle: { close(): void } })._handle.close();
    listening = await listenOn(`unix://${path}`, app);
    expect(listening.address).toBe(`unix://${path}`);
  });

  it("never takes over a socket another daemon is serving", async () => {
    const path = join(dir, "nerdctl.sock");
    const live = createServer().listen(path);
    await new Promise((resolve) => live.once("listening", resolve));
    try {
      await expect(listenOn(`unix://${path}`, app)).rejects.toThrow(/in use by another daemon/);
    } finally {
      live.close();
    }
  });

  it("refuses to replace a file that is not a socket", async () => {
    const path = join(dir, "nerdctl.sock");
    await writeFile(path, "precious");
    await expect(listenOn(`unix://${path}`, app)).rejects.toBeInstanceOf(ListenError);
  });

  it("removes its socket when it stops", async () => {
    const path = join(dir, "nerdctl.sock");
    const own = await listenOn(`unix://${path}`, app);
    await own.stopAccepting();
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });
});

describe("tcp listener", () => {
  it("refuses plain TCP off loopback unless told", async () => {
    await expect(listenOn("tcp://0.0.0.0:0", app)).rejects.toThrow(/refusing to serve plain TCP/);
  });

  it("serves on loopback through listhen", async () => {
    listening = await listenOn("tcp://127.0.0.1:0", app);
    const port = Number(listening.address.split(":").at(-1));
    const response = await fetch(`http://127.0.0.1:${port}/v1.43/containers/x/attach`, { method: "POST" });
    expect(await response.json()).toEqual({ upgraded: false });
  });
});
