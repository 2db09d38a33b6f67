import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import { Transform, type Duplex } from "node:stream";
import { frameMessage, MessageSplitter } from "./grpc-messages.ts";
import { buildkitSession, closed, END_STREAM, grpcRequestHeaders, grpcStatus, type Dial } from "./http2-relay.ts";
import { lengthDelimited, readFields } from "./protobuf.ts";

/**
 * POST /session: dockerd serves a build's session itself, and buildkitd's
 * solve finds it by its ID in dockerd's session manager. A standalone
 * buildkitd takes a session as Control.Session, a gRPC stream of
 * BytesMessages carrying the session connection's bytes, with the
 * X-Docker-Expose-Session-* headers as its metadata (buildkit's own client
 * does the same when it has no daemon to dial). The client's connection is
 * tunnelled so, both ways, with back-pressure.
 */

const SESSION = "/moby.buildkit.v1.Control/Session";
/** BytesMessage.data. */
const DATA = 1;
/** buildkitd sends the bytes in messages of 32 KiB; anything far larger is not a session's. */
const MAX_MESSAGE_BYTES = 4 << 20;

/** Each chunk read from the client as one BytesMessage. */
function toMessages(): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      done(null, frameMessage(lengthDelimited(DATA, chunk)));
    },
  });
}

/** Each BytesMessage's data, as bytes for the client. */
function fromMessages(): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(message: Buffer, _encoding, done) {
      try {
        const data = readFields(message).find((field) => field.number === DATA)?.payload;
        done(null, data && data.length > 0 ? data : undefined);
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

/** The session headers as gRPC metadata: lower-case names, every value kept. */
export function sessionMetadata(headers: Record<string, readonly string[]>): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).map(([name, values]) => [name.toLowerCase(), [...values]]));
}

/** Tunnels until either side goes; settles once both are closed. */
export async function tunnelSession(client: Duplex, dial: Dial, metadata: OutgoingHttpHeaders): Promise<void> {
  const upstream = buildkitSession(dial);
  const call = upstream.request(grpcRequestHeaders(SESSION, metadata));
  const end = () => {
    client.destroy();
    if (!call.closed) call.close(constants.NGHTTP2_CANCEL);
    upstream.destroy();
  };
  call.on("error", end);
  client.on("error", end);
  client.once("close", end);

  const encode = toMessages();
  client.pipe(encode).pipe(call);
  const splitter = new MessageSplitter(MAX_MESSAGE_BYTES);
  const decode = fromMessages();
  for (const part of [splitter, decode]) part.on("error", end);
  // buildkitd ending the stream ends the session: the client reads the end, then closes.
  call.pipe(splitter).pipe(decode).pipe(client);

  const refused = (headers: IncomingHttpHeaders) => (grpcStatus(headers)?.code ?? 0) !== 0;
  call.on("response", (headers: IncomingHttpHeaders, flags: number) => {
    if (flags & END_STREAM && refused(headers)) end();
  });
  call.on("trailers", (trailers: IncomingHttpHeaders) => {
    if (refused(trailers)) end();
  });
  call.on("close", () => upstream.close());
  await Promise.all([closed(upstream), new Promise<void>((resolve) => (client.destroyed ? resolve() : client.once("close", () => resolve())))]);
}
