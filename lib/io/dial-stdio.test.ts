import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dialStdio, unixSocketPath } from "./dial-stdio.ts";

describe("dialStdio", () => {
  let dir: string;
  let server: Server;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "dial-stdio-"));
  });
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("carries input to the socket and the answer to output, answering after input ends", async () => {
    const path = join(dir, "s.sock");
    // Answers only once its input has ended: what a half-close must allow.
    server = createServer({ allowHalfOpen: true }, (connection) => {
      let received = "";
      connection.on("data", (chunk: Buffer) => (received += chunk.toString()));
      connection.on("end", () => connection.end(`got ${received.toUpperCase()}`));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const input = new PassThrough();
    const output = new PassThrough();
    let answer = "";
    output.on("data", (chunk: Buffer) => (answer += chunk.toString()));

    const done = dialStdio(path, input, output);
    input.write("ping ");
    input.end("pong");
    await done;
    expect(answer).toBe("got PING PONG");
  });

  it("fails when nothing listens on the socket", async () => {
    await expect(dialStdio(join(dir, "absent.sock"), new PassThrough(), new PassThrough())).rejects.toThrow(/ENOENT/);
  });

  it("takes unix:// hosts and bare paths only", () => {
    expect(unixSocketPath("unix:///run/nerdctl.sock")).toBe("/run/nerdctl.sock");
    expect(unixSocketPath("/run/nerdctl.sock")).toBe("/run/nerdctl.sock");
    expect(unixSocketPath("tcp://127.0.0.1:2376")).toBeUndefined();
  });
});
