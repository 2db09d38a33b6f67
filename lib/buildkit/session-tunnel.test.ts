import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeBuildkitd, type FakeBuildkitd } from "../testing/fake-buildkitd.ts";
import { sessionMetadata, tunnelSession } from "./session-tunnel.ts";

let dir: string;
let buildkitd: FakeBuildkitd;
let front: Server;
let tunnels: Promise<void>[];

const HEADERS = {
  "x-docker-expose-session-uuid": ["session-1"],
  "x-docker-expose-session-sharedkey": ["key-1"],
  "x-docker-expose-session-grpc-method": ["/moby.filesync.v1.FileSync/DiffCopy", "/moby.buildkit.secrets.v1.Secrets/GetSecret"],
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nerdctld-session-"));
  buildkitd = await startFakeBuildkitd(join(dir, "buildkitd.sock"));
  tunnels = [];
  front = createServer({ allowHalfOpen: true }, (socket) => {
    tunnels.push(tunnelSession(socket, () => connect(buildkitd.socket), sessionMetadata(HEADERS)));
  });
  await new Promise<void>((resolve) => front.listen(join(dir, "front.sock"), resolve));
});

afterEach(async () => {
  await Promise.all(tunnels);
  await new Promise((resolve) => front.close(resolve));
  await buildkitd.close();
  await rm(dir, { recursive: true, force: true });
});

function read(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  return once(socket, "end").then(() => Buffer.concat(chunks).toString("latin1"));
}

describe("tunnelSession", () => {
  it("opens Control.Session with the session headers as metadata, every value of each", async () => {
    const socket = connect({ path: join(dir, "front.sock"), allowHalfOpen: true });
    const received = read(socket);
    socket.end("hello");
    await received;
    socket.destroy();
    const call = buildkitd.calls.find((call) => call.path === "/moby.buildkit.v1.Control/Session")!;
    expect(call.headers["x-docker-expose-session-uuid"]).toBe("session-1");
    expect(call.headers["x-docker-expose-session-sharedkey"]).toBe("key-1");
    const methods = call.raw.flatMap((value, i) => (i % 2 === 0 && value === "x-docker-expose-session-grpc-method" ? [call.raw[i + 1]] : []));
    expect(methods).toEqual(HEADERS["x-docker-expose-session-grpc-method"]);
  });

  it("carries the connection's bytes both ways as BytesMessages, and its end", async () => {
    const socket = connect({ path: join(dir, "front.sock"), allowHalfOpen: true });
    const received = read(socket);
    const sent = ["h2c bytes, ", "x".repeat(200_000), " and more"];
    for (const part of sent) socket.write(part);
    socket.end();
    // The fake buildkitd upper-cases what it gets and ends when the client does.
    expect(await received).toBe(sent.join("").toUpperCase());
    socket.destroy();
    const call = buildkitd.calls.find((call) => call.path === "/moby.buildkit.v1.Control/Session")!;
    expect(Buffer.concat(call.messages).length).toBeGreaterThan(sent.join("").length);
  });

  it("ends buildkitd's stream and connection when the client goes", async () => {
    const socket = connect({ path: join(dir, "front.sock"), allowHalfOpen: true });
    socket.write("something");
    await until(() => (buildkitd.calls[0]?.messages.length ?? 0) > 0);
    socket.destroy();
    await Promise.all(tunnels);
    await buildkitd.calls[0]!.closed;
    await until(() => buildkitd.openSessions() === 0);
    expect(buildkitd.openSessions()).toBe(0);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
