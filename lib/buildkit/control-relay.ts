import { once } from "node:events";
import { constants, createServer, type ClientHttp2Stream, type OutgoingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { MessageSplitter, mapMessages } from "./grpc-messages.ts";
import { buildkitSession, closed, END_STREAM, relayedHeaders, type Dial } from "./http2-relay.ts";
import { exportToContainerd } from "./solve-request.ts";

/**
 * POST /grpc: the client's HTTP/2 (h2c) connection served call by call onto
 * a connection of its own to buildkitd, each call's bytes streamed both ways
 * as they come, with HTTP/2's flow control as back-pressure, its trailers and
 * resets passed on. Only Control.Solve's request, a single small message, is
 * read whole to be changed (exportToContainerd); nothing else is held.
 */

const SOLVE = "/moby.buildkit.v1.Control/Solve";
/** buildkitd's own limit on a received message. */
const MAX_SOLVE_REQUEST_BYTES = 16 << 20;

/** Relays until either side goes; settles once both connections are closed. */
export async function relayControl(client: Duplex, dial: Dial): Promise<void> {
  const upstream = buildkitSession(dial);
  const server = createServer({ maxSessionMemory: 64 });
  server.on("stream", (stream: ServerHttp2Stream, _headers: unknown, _flags: number, rawHeaders: string[]) =>
    forwardCall(stream, rawHeaders, (headers) => upstream.request(headers)),
  );
  const downstream = once(server, "session");
  server.emit("connection", client);
  const [session] = (await downstream) as [ServerHttp2Session];
  session.on("error", () => {});
  // The client closing its side is the end of its HTTP/2 connection (the daemon's sockets stay half-open otherwise).
  client.once("end", () => session.destroy());
  upstream.once("close", () => session.destroy());
  session.once("close", () => upstream.destroy());
  await Promise.all([closed(upstream), closed(session)]);
  client.destroy();
}

type OpenCall = (headers: OutgoingHttpHeaders) => ClientHttp2Stream;

/** One call: the client's stream and buildkitd's, joined. */
function forwardCall(stream: ServerHttp2Stream, rawHeaders: readonly string[], open: OpenCall): void {
  const headers = relayedHeaders(rawHeaders);
  let call: ClientHttp2Stream;
  try {
    call = open(headers);
  } catch {
    stream.close(constants.NGHTTP2_REFUSED_STREAM);
    return;
  }
  const fail = (code: number) => {
    if (!stream.closed) stream.close(code);
    if (!call.closed) call.close(code);
  };
  stream.on("error", () => fail(constants.NGHTTP2_CANCEL));
  call.on("error", () => fail(constants.NGHTTP2_INTERNAL_ERROR));

  if (headers[":path"] === SOLVE) {
    const splitter = new MessageSplitter(MAX_SOLVE_REQUEST_BYTES);
    const rewrite = mapMessages(exportToContainerd);
    for (const part of [splitter, rewrite]) part.on("error", () => fail(constants.NGHTTP2_INTERNAL_ERROR));
    stream.pipe(splitter).pipe(rewrite).pipe(call);
  } else {
    stream.pipe(call);
  }

  let trailers: OutgoingHttpHeaders = {};
  call.on("trailers", (_trailers: unknown, _flags: number, raw: string[]) => (trailers = relayedHeaders(raw)));
  call.on("response", (_headers: unknown, flags: number, raw: string[]) => {
    if (stream.closed) return;
    // A trailers-only answer (a gRPC error before any message) ends at its headers.
    if (flags & END_STREAM) {
      stream.respond(relayedHeaders(raw), { endStream: true });
      return;
    }
    stream.respond(relayedHeaders(raw), { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    call.pipe(stream);
  });
  // A reset on either side resets the other; a call that ended well has nothing left to reset.
  call.on("close", () => {
    if (call.rstCode !== undefined && call.rstCode !== constants.NGHTTP2_NO_ERROR) fail(call.rstCode);
  });
  stream.on("close", () => {
    if (!call.closed) call.close(constants.NGHTTP2_CANCEL);
  });
}
