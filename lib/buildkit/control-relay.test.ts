import { mkdtemp, rm } from "node:fs/promises";
import { connect as connectHttp2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FAIL_PATH, HANG_PATH, startFakeBuildkitd, STREAM_MESSAGE_BYTES, STREAM_MESSAGES, STREAM_PATH, type FakeBuildkitd } from "../testing/fake-buildkitd.ts";
import { relayControl } from "./control-relay.ts";
import { frameMessage, MessageSplitter } from "./grpc-messages.ts";
import { grpcRequestHeaders } from "./http2-relay.ts";
import { lengthDelimited, mapEntries, mapEntry, readFields, stringField } from "./protobuf.ts";

let dir: string;
let buildkitd: FakeBuildkitd;
let front: Server;
let relays: Promise<void>[];
let frontSockets: Socket[];

/** The daemon's side: each connection to the front socket is relayed to the fake buildkitd. */
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nerdctld-relay-"));
  buildkitd = await startFakeBuildkitd(join(dir, "buildkitd.sock"));
  relays = [];
  frontSockets = [];
  // Half-open like the HTTP server's sockets: a client's end must be taken as its going.
  front = createServer({ allowHalfOpen: true }, (socket) => {
    frontSockets.push(socket);
    relays.push(relayControl(socket, () => connect(buildkitd.socket)));
  });
  await new Promise<void>((resolve) => front.listen(join(dir, "front.sock"), resolve));
});

afterEach(async () => {
  for (const socket of frontSockets) socket.destroy();
  await Promise.all(relays);
  await new Promise((resolve) => front.close(resolve));
  await buildkitd.close();
  await rm(dir, { recursive: true, force: true });
});

/** buildx's side: gRPC over HTTP/2 on a connection to the daemon. */
function client(): ClientHttp2Session {
  return connectHttp2("http://localhost", { createConnection: () => connect(join(dir, "front.sock")) });
}

interface Answer {
  headers: IncomingHttpHeaders;
  messages: Buffer[];
  trailers: IncomingHttpHeaders;
}

function answer(call: ClientHttp2Stream): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const result: Answer = { headers: {}, messages: [], trailers: {} };
    call.on("response", (headers) => (result.headers = headers));
    call.on("trailers", (trailers) => (result.trailers = trailers));
    call.on("error", reject);
    const splitter = call.pipe(new MessageSplitter(1 << 20));
    splitter.on("data", (message: Buffer) => result.messages.push(message));
    splitter.on("end", () => resolve(result));
  });
}

function solveRequest(exporters: Buffer[]): Buffer {
  return Buffer.concat([lengthDelimited(1, "build-ref"), ...exporters, lengthDelimited(5, "session-id")]);
}

function exporter(type: string, attrs: [string, string][]): Buffer {
  return lengthDelimited(13, Buffer.concat([lengthDelimited(1, type), ...attrs.map(([key, value]) => mapEntry(2, key, value))]));
}

describe("relayControl", () => {
  it("passes a call's headers, every message and the trailers both ways", async () => {
    const session = client();
    const call = session.request(grpcRequestHeaders(STREAM_PATH, { "x-meta": ["one", "two"], "buildkit-control-build-ref": "ref-1" }));
    call.write(frameMessage(Buffer.from("first")));
    call.end(frameMessage(Buffer.from("second")));
    const { headers, messages, trailers } = await answer(call);
    session.close();

    const received = buildkitd.calls.find((received) => received.path === STREAM_PATH)!;
    expect(received.messages.map(String)).toEqual(["first", "second"]);
    // Repeated metadata arrives as repeated headers, not joined into one.
    const metaValues = received.raw.flatMap((value, i) => (i % 2 === 0 && value === "x-meta" ? [received.raw[i + 1]] : []));
    expect(metaValues).toEqual(["one", "two"]);
    expect(received.headers["buildkit-control-build-ref"]).toBe("ref-1");

    expect(headers[":status"]).toBe(200);
    expect(headers["content-type"]).toBe("application/grpc");
    expect(messages).toHaveLength(STREAM_MESSAGES);
    expect(messages.every((message, i) => message.length === STREAM_MESSAGE_BYTES && message[0] === i)).toBe(true);
    expect(trailers["grpc-status"]).toBe("0");
  });

  it("passes an error answered with headers only (a gRPC status before any message)", async () => {
    const session = client();
    const call = session.request(grpcRequestHeaders(FAIL_PATH));
    call.end(frameMessage(Buffer.alloc(0)));
    const { headers, messages } = await answer(call);
    session.close();
    expect(headers["grpc-status"]).toBe("5");
    expect(headers["grpc-message"]).toBe("no such thing");
    expect(messages).toEqual([]);
  });

  it("gives buildkitd's image exporter for dockerd's moby exporter in a Solve request, the rest as sent", async () => {
    const session = client();
    const call = session.request(grpcRequestHeaders("/moby.buildkit.v1.Control/Solve"));
    call.end(frameMessage(solveRequest([exporter("moby", [["name", "app:1,registry.example.com/team/app"]]), exporter("local", [["dest", "/out"]])])));
    const { trailers } = await answer(call);
    session.close();
    expect(trailers["grpc-status"]).toBe("0");

    const [sent] = buildkitd.calls.find((received) => received.path === "/moby.buildkit.v1.Control/Solve")!.messages;
    const fields = readFields(sent!);
    expect(stringField(fields, 1)).toBe("build-ref");
    expect(stringField(fields, 5)).toBe("session-id");
    const exporters = fields.filter((field) => field.number === 13).map((field) => readFields(field.payload!));
    expect(exporters.map((fields) => stringField(fields, 1))).toEqual(["image", "local"]);
    expect(Object.fromEntries(mapEntries(exporters[0]!, 2))).toEqual({
      name: "docker.io/library/app:1,registry.example.com/team/app:latest",
      unpack: "true",
    });
    expect(Object.fromEntries(mapEntries(exporters[1]!, 2))).toEqual({ dest: "/out" });
  });

  it("resets buildkitd's call when the client cancels its own", async () => {
    const session = client();
    const call = session.request(grpcRequestHeaders(HANG_PATH));
    call.write(frameMessage(Buffer.from("waiting")));
    await until(() => buildkitd.calls.find((received) => received.path === HANG_PATH)?.messages.length === 1);
    call.close(0x8 /* CANCEL */);
    const code = await buildkitd.calls.find((received) => received.path === HANG_PATH)!.closed;
    session.close();
    expect(code).not.toBe(0);
  });

  it("closes its connection to buildkitd when the client's connection goes, and settles", async () => {
    const session = client();
    const call = session.request(grpcRequestHeaders(HANG_PATH));
    call.write(frameMessage(Buffer.from("waiting")));
    call.on("error", () => {});
    await until(() => buildkitd.openSessions() === 1);
    session.destroy();
    await Promise.all(relays);
    await until(() => buildkitd.openSessions() === 0);
    expect(buildkitd.openSessions()).toBe(0);
  });

  it("closes the client's connection when buildkitd goes", async () => {
    const session = client();
    const closed = new Promise<void>((resolve) => session.on("close", () => resolve()));
    session.on("error", () => {});
    const call = session.request(grpcRequestHeaders(HANG_PATH));
    call.on("error", () => {});
    call.write(frameMessage(Buffer.from("waiting")));
    await until(() => buildkitd.openSessions() === 1);
    await buildkitd.close();
    await closed;
    await Promise.all(relays);
    expect(session.destroyed).toBe(true);
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
