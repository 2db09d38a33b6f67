/**
 * Streams at the HTTP edge (DESIGN rule 3): the request body read as it is
 * consumed, responses pulled from their source one chunk at a time, and the
 * source told at once when the client goes away. Nothing here buffers a body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { HTTPResponse, type H3Event } from "h3";
import { encodeMessage, type JSONMessage } from "../docker/progress.ts";
import type { PipeableBody } from "../io/writable.ts";

interface NodeRuntime {
  node?: { req?: IncomingMessage; res?: ServerResponse };
}

function nodeRuntime(event: H3Event): NodeRuntime["node"] {
  return (event.runtime as NodeRuntime | undefined)?.node;
}

/**
 * Aborts when the client goes away before its response is complete. h3's
 * request signal does this on Node (srvx aborts it when the response closes
 * unfinished, and while the request is still being read); reading it here,
 * early, is what makes srvx start listening.
 */
export function clientGone(event: H3Event): AbortSignal {
  return event.req.signal;
}

/**
 * The request body as a Node stream, read only as fast as it is consumed:
 * Node's own request on a real server, the fetch body otherwise (tests).
 */
export function requestBody(event: H3Event): Readable {
  const req = nodeRuntime(event)?.req;
  if (req) return req;
  const body = event.req.body;
  return body ? Readable.fromWeb(body as unknown as NodeWebReadableStream<Uint8Array>) : Readable.from([]);
}

/**
 * A web ReadableStream pulling from an async iterator one chunk per read, so
 * the HTTP layer's back-pressure reaches the source. `onCancel` runs when the
 * client stops reading (disconnect): it must kill whatever produces the data.
 */
export function pullStream(source: AsyncIterable<Uint8Array | string>, onCancel: () => void): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(typeof value === "string" ? encoder.encode(value) : value);
        } catch (error) {
          onCancel();
          controller.error(error);
        }
      },
      async cancel() {
        onCancel();
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The source after an empty first chunk, which makes the server send the
 * status and headers at once, as dockerd flushes them: clients wait for them
 * before they go on (dockerode starts a container it attaches to only then).
 */
export async function* headersFirst(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array | string> {
  yield new Uint8Array();
  yield* source;
}

/** Docker's JSON message stream (pull, push, load, import): one message per line. */
export function jsonMessagesResponse(messages: AsyncIterable<JSONMessage> | Iterable<JSONMessage>, onCancel: () => void = () => {}): Response {
  const lines = (async function* () {
    for await (const message of messages) yield encodeMessage(message);
  })();
  return new Response(pullStream(lines, onCancel), { status: 200, headers: { "Content-Type": "application/json" } });
}

/** srvx hands any body with a pipe() method the response (or a stream standing in for it) and waits for it to close. */
function isPipeableBody(source: unknown): source is PipeableBody {
  return !(source instanceof Readable) && typeof (source as Partial<PipeableBody>).pipe === "function";
}

/**
 * A binary stream, sent as it is produced. A Node stream (a container
 * archive) or a PipeableBody (an image archive) goes to the socket without a
 * web-stream hop; its headers leave with the first bytes. Any other source
 * goes through a web stream. A `live` source (logs, which may stay quiet for
 * long) has its headers leave at once, so a quiet `logs --follow` is
 * answered. `onCancel` runs when the client goes away before the end of a
 * Readable or iterable source.
 */
export function binaryResponse(
  source: Readable | AsyncIterable<Uint8Array> | PipeableBody,
  contentType: string,
  onCancel: () => void = () => {},
  options: { live?: boolean } = {},
): Response | HTTPResponse {
  const headers = { "Content-Type": contentType };
  if (isPipeableBody(source)) return new HTTPResponse(source as unknown as BodyInit, { status: 200, headers });
  if (options.live) return new Response(pullStream(headersFirst(source), onCancel), { status: 200, headers });
  if (!(source instanceof Readable)) return new Response(pullStream(source, onCancel), { status: 200, headers });
  source.once("close", () => {
    if (!source.readableEnded) onCancel();
  });
  // h3 hands a body with pipe() to srvx as it is; BodyInit does not name Node streams.
  return new HTTPResponse(source as unknown as BodyInit, { status: 200, headers });
}

/**
 * A JSON document that is known later (POST /containers/{id}/wait): the
 * status and headers leave at once, the document when it settles.
 */
export function lateJsonResponse(document: Promise<unknown>): Response {
  const body = (async function* () {
    yield `${JSON.stringify(await document)}\n`;
  })();
  return new Response(pullStream(headersFirst(body), () => {}), { status: 200, headers: { "Content-Type": "application/json" } });
}
