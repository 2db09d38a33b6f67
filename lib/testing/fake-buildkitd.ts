import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import { frameMessage, MessageSplitter } from "../buildkit/grpc-messages.ts";
import { lengthDelimited, mapEntry, readFields } from "../buildkit/protobuf.ts";

/**
 * A stand-in for buildkitd's gRPC socket (h2c on a unix socket) for the relay's
 * tests: it answers ListWorkers with one containerd worker of a namespace,
 * records the calls it gets, echoes Control.Session's bytes upper-cased, and
 * has a few test methods (a stream of messages, an error, a call that never
 * answers).
 */

export interface ReceivedCall {
  path: string;
  headers: IncomingHttpHeaders;
  /** The header values as sent, repeated headers kept apart. */
  raw: string[];
  messages: Buffer[];
  /** Settles when the call is closed, with its reset code (0: ended well). */
  closed: Promise<number>;
}

export interface FakeBuildkitd {
  socket: string;
  calls: ReceivedCall[];
  /** HTTP/2 connections open now. */
  openSessions(): number;
  close(): Promise<void>;
}

export const STREAM_PATH = "/test.Echo/Stream";
export const FAIL_PATH = "/test.Echo/Fail";
export const HANG_PATH = "/test.Echo/Hang";
/** How many messages, of how many bytes, STREAM_PATH answers with. */
export const STREAM_MESSAGES = 64;
export const STREAM_MESSAGE_BYTES = 64 * 1024;

const GRPC = { ":status": 200, "content-type": "application/grpc" };

function workers(namespace: string): Buffer {
  const labels = [
    mapEntry(2, "org.mobyproject.buildkit.worker.executor", "containerd"),
    mapEntry(2, "org.mobyproject.buildkit.worker.containerd.namespace", namespace),
  ];
  return lengthDelimited(1, Buffer.concat([lengthDelimited(1, "worker-id"), ...labels]));
}

export async function startFakeBuildkitd(socket: string, namespace = "default"): Promise<FakeBuildkitd> {
  const calls: ReceivedCall[] = [];
  const sessions = new Set<ServerHttp2Session>();
  const server = createServer();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
    const messages: Buffer[] = [];
    const closed = new Promise<number>((resolve) => stream.on("close", () => resolve(stream.rstCode ?? 0)));
    const path = String(headers[":path"]);
    calls.push({ path, headers, raw, messages, closed });
    stream.on("error", () => {});
    const splitter = stream.pipe(new MessageSplitter(64 << 20));
    const finish = (answer: Buffer[]) => {
      stream.respond(GRPC, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      for (const message of answer) stream.write(frameMessage(message));
      stream.end();
    };
    switch (path) {
      case "/moby.buildkit.v1.Control/Session":
        stream.respond(GRPC, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        splitter.on("data", (message: Buffer) => {
          messages.push(message);
          const data = (readFields(message)[0]?.payload ?? Buffer.alloc(0)).toString("latin1").toUpperCase();
          stream.write(frameMessage(lengthDelimited(1, Buffer.from(data, "latin1"))));
        });
        splitter.on("end", () => stream.end());
        return;
      case STREAM_PATH:
        splitter.on("data", (message: Buffer) => messages.push(message));
        splitter.on("end", () => finish(Array.from({ length: STREAM_MESSAGES }, (_, i) => Buffer.alloc(STREAM_MESSAGE_BYTES, i))));
        return;
      case FAIL_PATH:
        stream.respond({ ...GRPC, "grpc-status": "5", "grpc-message": "no such thing" }, { endStream: true });
        return;
      case HANG_PATH:
        splitter.on("data", (message: Buffer) => messages.push(message));
        return;
      default:
        splitter.on("data", (message: Buffer) => messages.push(message));
        splitter.on("end", () => finish(path.endsWith("/ListWorkers") ? [workers(namespace)] : [Buffer.alloc(0)]));
    }
  });
  server.listen(socket);
  await once(server, "listening");
  return {
    socket,
    calls,
    openSessions: () => sessions.size,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
