/**
 * Streams end to end (DESIGN rule 3): a request body piped into a child's
 * stdin, a child's output pulled into the response one chunk at a time, and the
 * child killed as soon as the client goes away. Nothing here buffers a body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable, type Writable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { HTTPResponse, type H3Event } from "h3";
import { encodeMessage, type JSONMessage } from "../docker/progress.ts";
import { heapHeadroomDuringTransfer } from "../io/heap.ts";

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

/** Runs `onGone` once if the client goes away; returns a function that stops listening. */
export function whenClientGone(signal: AbortSignal, onGone: () => void): () => void {
  if (signal.aborted) {
    onGone();
    return () => {};
  }
  signal.addEventListener("abort", onGone, { once: true });
  return () => signal.removeEventListener("abort", onGone);
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

/** How much a batch of writes gathers at most, and for how long. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_MS = 5;

/**
 * Gathers writes to a stream, up to BATCH_BYTES or BATCH_MS, so that they
 * leave as one vectored write: pipe and socket reads come 16–64 KiB at a
 * time, and each write on its own costs a system call, a wake-up of the
 * reader and a completion callback.
 */
export class WriteBatcher {
  readonly #target: Writable;
  #batched = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(target: Writable) {
    this.#target = target;
  }

  /** Writes chunk into the current batch; false when target wants no more until it drains. */
  write(chunk: Buffer): boolean {
    if (this.#batched === 0) {
      this.#target.cork();
      this.#timer = setTimeout(() => this.flush(), BATCH_MS);
    }
    const more = this.#target.write(chunk);
    this.#batched += chunk.length;
    if (this.#batched >= BATCH_BYTES) this.flush();
    return more;
  }

  flush(): void {
    if (this.#batched === 0) return;
    clearTimeout(this.#timer);
    this.#batched = 0;
    this.#target.uncork();
  }
}

/**
 * Pipes source into target with back-pressure, in batched writes (as large
 * as target's writableHighWaterMark allows). Settles when the source has
 * been delivered and target finished, or when target stops accepting (a child
 * that exited: its exit status says why, so the rest of the body is drained
 * and discarded rather than failing the response). Rejects when the source
 * breaks (the client went away mid-upload); target is then destroyed, so the
 * child sees its input end.
 */
export function pipeInto(source: Readable, target: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const batcher = new WriteBatcher(target);
    const endTransfer = heapHeadroomDuringTransfer();
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      endTransfer();
      batcher.flush();
      source.off("data", onData);
      source.off("end", onEnd);
      source.off("error", onSourceError);
      source.off("close", onSourceClose);
      target.off("error", onTargetGone);
      target.off("close", onTargetGone);
      target.off("finish", onFinish);
      target.off("drain", onDrain);
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: Buffer | string) => {
      if (batcher.write(typeof chunk === "string" ? Buffer.from(chunk) : chunk)) return;
      // The batch leaves now: target drains, and the source resumes, only once it is written.
      batcher.flush();
      source.pause();
    };
    const onDrain = () => source.resume();
    const onEnd = () => {
      batcher.flush();
      target.end();
    };
    const onFinish = () => settle();
    const onTargetGone = () => {
      settle();
      if (!source.readableEnded && !source.destroyed) source.resume();
    };
    const onSourceError = (error: Error) => {
      target.destroy();
      settle(error);
    };
    const onSourceClose = () => {
      if (source.readableEnded) return;
      target.destroy();
      settle(new Error("the client went away before sending the whole body"));
    };
    source.once("error", onSourceError);
    source.once("close", onSourceClose);
    source.once("end", onEnd);
    target.once("error", onTargetGone);
    target.once("close", onTargetGone);
    target.once("finish", onFinish);
    target.on("drain", onDrain);
    source.on("data", onData);
  });
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

/** Docker's JSON message stream (pull, push, load, import): one message per line. */
export function jsonMessagesResponse(messages: AsyncIterable<JSONMessage> | Iterable<JSONMessage>, onCancel: () => void = () => {}): Response {
  const lines = (async function* () {
    for await (const message of messages) yield encodeMessage(message);
  })();
  return new Response(pullStream(lines, onCancel), { status: 200, headers: { "Content-Type": "application/json" } });
}

/**
 * A body that writes itself into the response: srvx hands any body with a
 * pipe() method the response (or a stream standing in for it) and waits for
 * it to close. The body ends or destroys the destination, and stops on its own
 * when the destination closes early (the client went away); abort() is how a
 * fetch caller says so.
 */
export interface PipeableBody {
  pipe<T extends Writable>(destination: T): T;
  abort(): void;
}

function isPipeableBody(source: unknown): source is PipeableBody {
  return !(source instanceof Readable) && typeof (source as Partial<PipeableBody>).pipe === "function";
}

/**
 * A binary stream, sent as it is produced. A Node stream (a container
 * archive) or a PipeableBody (an image archive) goes to the socket without a
 * web-stream hop; its headers leave with the first bytes. Any other source
 * (logs) goes through a web stream, whose headers leave at once, so a quiet
 * `logs --follow` is answered. `onCancel` runs when the client goes away
 * before the end of a Readable or iterable source.
 */
export function binaryResponse(source: Readable | AsyncIterable<Uint8Array> | PipeableBody, contentType: string, onCancel: () => void = () => {}): Response | HTTPResponse {
  const headers = { "Content-Type": contentType };
  if (isPipeableBody(source)) return new HTTPResponse(source as unknown as BodyInit, { status: 200, headers });
  if (!(source instanceof Readable)) return new Response(pullStream(source, onCancel), { status: 200, headers });
  source.once("close", () => {
    if (!source.readableEnded) onCancel();
  });
  // h3 hands a body with pipe() to srvx as it is; BodyInit does not name Node streams.
  return new HTTPResponse(source as unknown as BodyInit, { status: 200, headers });
}

/**
 * Splits a byte stream into lines (without their `\n`), reading only as lines
 * are consumed. A line longer than maxLine is cut there, so a child that never
 * prints a newline cannot make this hold unbounded text.
 */
export async function* readLines(source: AsyncIterable<Uint8Array | string>, maxLine = 1024 * 1024): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of source) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
    while (pending.length > maxLine) {
      yield pending.slice(0, maxLine);
      pending = pending.slice(maxLine);
    }
  }
  pending += decoder.decode();
  if (pending) yield pending;
}

/**
 * A small request body (an auth document), read up to limit bytes; the rest is
 * refused rather than held. Empty string when there is no body.
 */
export async function readSmallBody(event: H3Event, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of requestBody(event) as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > limit) throw new RangeError(`request body larger than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
