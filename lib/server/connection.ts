import { PassThrough, Readable, type Duplex } from "node:stream";
import type { H3Event } from "h3";
import type { ConnectionSession } from "../io/connection.ts";
import { firstChunk } from "../io/readable.ts";
import { hijack, upgradeOf, type UpgradeRuntime } from "./hijack.ts";
import { clientGone, headersFirst, pullStream } from "./streams.ts";

/*
 * A client's connection taken over for an interactive stream (exec, attach).
 * Clients that ask for it (`Connection: Upgrade`, `Upgrade: tcp`) get
 * `101 UPGRADED` and the raw socket both ways; others get a 200 streaming the
 * output, with the request body as input.
 */

/** dockerd announces a stream it was not asked to upgrade as raw, whatever it carries. */
const PLAIN_STREAM_TYPE = "application/vnd.docker.raw-stream";

/** How long a finished stream's connection waits for the client to close its side. */
const LINGER_MS = 30_000;

/**
 * The body of an upgrade request. Node hands such a request over unparsed,
 * as the bytes after its headers and the socket: the body is the first
 * Content-Length bytes of those, and what follows stays for the stream.
 */
export function upgradeBody(event: H3Event): Readable | undefined {
  const upgrade = upgradeOf(event);
  if (!upgrade) return undefined;
  const length = Number(upgrade.req.headers["content-length"] ?? 0);
  return Readable.from(readBody(upgrade, Number.isSafeInteger(length) && length > 0 ? length : 0));
}

async function* readBody(upgrade: UpgradeRuntime, length: number): AsyncGenerator<Buffer> {
  const fromHead = upgrade.head.subarray(0, length);
  upgrade.head = upgrade.head.subarray(fromHead.length);
  let remaining = length - fromHead.length;
  if (fromHead.length > 0) yield fromHead;
  while (remaining > 0) {
    const chunk = await firstChunk(upgrade.socket as Readable);
    if (chunk === null) return;
    const part = chunk.subarray(0, remaining);
    if (chunk.length > part.length) upgrade.socket.unshift(chunk.subarray(part.length));
    remaining -= part.length;
    yield part;
  }
}

/**
 * Runs `session` over the client's connection. Upgraded, it settles when the
 * session is over; otherwise it answers at once with the 200 the session's
 * output streams into.
 */
export function serveConnection(event: H3Event, contentType: string, body: () => Readable, session: ConnectionSession): Promise<string> | Response {
  if (upgradeOf(event)) return skipBody(body()).then(() => serveUpgraded(hijack(event, contentType), session));
  const output = new PassThrough();
  const stopped = new AbortController();
  const gone = AbortSignal.any([clientGone(event), stopped.signal]);
  session({ input: body(), output, gone }).then(
    () => {
      if (!output.writableEnded) output.end();
    },
    (error: unknown) => output.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return new Response(pullStream(headersFirst(output), () => stopped.abort()), { status: 200, headers: { "Content-Type": PLAIN_STREAM_TYPE } });
}

/**
 * A body the route did not read is not input: the input is what follows it
 * (dockerode sends its attach options as one; dockerd drops it too).
 */
async function skipBody(body: Readable): Promise<void> {
  for await (const _ of body);
}

async function serveUpgraded(socket: Duplex, session: ConnectionSession): Promise<string> {
  const gone = new AbortController();
  const onClose = () => gone.abort();
  socket.once("close", onClose);
  // Input through a stream of its own: a reader that destroys it when done (an async iterator does) leaves the socket open.
  const input = socket.pipe(new PassThrough());
  try {
    await session({ input, output: socket, gone: gone.signal });
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    socket.off("close", onClose);
    socket.unpipe(input);
  }
  linger(socket);
  // The socket is the route's: the server layer writes no response for it.
  return "";
}

/**
 * The stream is over: the client is told by a half-close (dockerd's
 * CloseWrite), and what it still sends is read and dropped until it closes
 * its side too, or a while has passed.
 */
function linger(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end();
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once("close", () => clearTimeout(timer));
}
