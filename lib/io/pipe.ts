import type { Readable, Writable } from "node:stream";
import { FlowHeadroom, heapHeadroomDuringTransfer } from "./heap.ts";
import { WriteBatcher } from "./write-batcher.ts";

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
 * Relays source into target as it comes, for a stream that target outlives
 * (a process's output into a client's connection): writes of one turn of
 * the event loop leave together, nothing waits for a later one; source is
 * paused while target is full, and target is left open at source's end. Heap
 * headroom is held while bytes flow. The returned function stops relaying:
 * what source still produces is then read and dropped.
 */
export function relayInto(source: Readable, target: Writable): () => void {
  const batcher = new WriteBatcher(target, "turn");
  const headroom = new FlowHeadroom();
  let stopped = false;
  const onDrain = () => source.resume();
  const onData = (chunk: Buffer | string) => {
    headroom.flowing();
    if (batcher.write(typeof chunk === "string" ? Buffer.from(chunk) : chunk)) return;
    batcher.flush();
    source.pause();
    target.once("drain", onDrain);
  };
  const onEnd = () => {
    batcher.flush();
    headroom.end();
  };
  source.on("data", onData);
  source.once("end", onEnd).once("close", onEnd);
  return () => {
    if (stopped) return;
    stopped = true;
    onEnd();
    source.off("data", onData).off("end", onEnd).off("close", onEnd);
    target.off("drain", onDrain);
    source.resume();
  };
}
