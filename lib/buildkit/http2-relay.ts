import { connect, constants, type ClientHttp2Session, type Http2Session, type OutgoingHttpHeaders } from "node:http2";
import type { Duplex } from "node:stream";

/** Opens a new connection to buildkitd's gRPC socket. */
export type Dial = () => Duplex;

/** An HTTP/2 (h2c) client session to buildkitd over a dialled connection. */
export function buildkitSession(dial: Dial): ClientHttp2Session {
  const session = connect("http://buildkitd", { createConnection: () => dial(), maxSessionMemory: 64 });
  // Failures reach the streams on it; the session's own error needs a listener so it does not crash the daemon.
  session.on("error", () => {});
  return session;
}

/** A gRPC call's request headers. */
export function grpcRequestHeaders(path: string, metadata: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { ...metadata, ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" };
}

/** Headers a relay must not pass on as they came (HTTP/2 sets them per hop). */
const PER_HOP = new Set([":scheme", ":authority", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade"]);

/**
 * Headers as HTTP/2 gave them (`rawHeaders`: name, value, …), for passing on:
 * a header sent several times (gRPC metadata with several values) stays several.
 */
export function relayedHeaders(raw: readonly string[], drop: ReadonlySet<string> = PER_HOP): OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop.has(name)) continue;
    const existing = headers[name];
    headers[name] = existing === undefined ? raw[i + 1]! : [...(Array.isArray(existing) ? existing : [existing]), raw[i + 1]!];
  }
  return headers;
}

/** The status of a gRPC call from its trailers (or its headers, for a trailers-only answer). */
export function grpcStatus(headers: Record<string, unknown>): { code: number; message: string } | undefined {
  const status = headers["grpc-status"];
  if (status === undefined) return undefined;
  const message = headers["grpc-message"];
  return { code: Number(status), message: typeof message === "string" ? decodeURIComponent(message) : "" };
}

/** Settles when an HTTP/2 session has closed, however it ended. */
export function closed(session: Http2Session): Promise<void> {
  return session.closed && session.destroyed ? Promise.resolve() : new Promise((resolve) => session.once("close", () => resolve()));
}

export const END_STREAM = constants.NGHTTP2_FLAG_END_STREAM;
