import { PassThrough, Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import { pipeInto, relayInto } from "./pipe.ts";
import { WriteBatcher } from "./write-batcher.ts";

/** Waits until check() holds, or fails after timeoutMs. */
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("pipeInto", () => {
  it("delivers the whole source and settles when the target finished", async () => {
    const target = new PassThrough();
    const collected: Buffer[] = [];
    target.on("data", (chunk: Buffer) => collected.push(chunk));
    await pipeInto(Readable.from([Buffer.from("he"), Buffer.from("llo")]), target);
    expect(Buffer.concat(collected).toString()).toBe("hello");
  });

  it("settles, draining the rest, when the target stops accepting (the child exited)", async () => {
    const target = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error("EPIPE"), { code: "EPIPE" }));
      },
    });
    const source = Readable.from((function* () {
      for (let i = 0; i < 100; i++) yield Buffer.alloc(1024);
    })());
    await pipeInto(source, target);
    await until(() => source.readableEnded);
  });

  /** A target recording how many chunks each of its writes carried. */
  function recordingTarget(highWaterMark: number): { target: Writable; writes: number[]; bytes: () => number } {
    const writes: number[] = [];
    let bytes = 0;
    const target = new Writable({
      highWaterMark,
      write(chunk: Buffer, _encoding, done) {
        writes.push(1);
        bytes += chunk.length;
        setImmediate(done);
      },
      writev(chunks, done) {
        writes.push(chunks.length);
        for (const { chunk } of chunks) bytes += (chunk as Buffer).length;
        setImmediate(done);
      },
    });
    return { target, writes, bytes: () => bytes };
  }

  const chunks = (count: number, size: number) =>
    Readable.from((function* () {
      for (let i = 0; i < count; i++) yield Buffer.alloc(size, i % 256);
    })());

  it("gathers small chunks into vectored writes when the target has room", async () => {
    const { target, writes, bytes } = recordingTarget(4 * 1024 * 1024);
    await pipeInto(chunks(256, 16 * 1024), target);
    expect(bytes()).toBe(256 * 16 * 1024);
    expect(writes.length).toBeLessThan(16);
    expect(Math.max(...writes)).toBeGreaterThan(16);
  });

  it("does not hold chunks back from a target with a small buffer", async () => {
    const { target, writes, bytes } = recordingTarget(16 * 1024);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      // Fake timers never fire: only flushes that need no timer move the data.
      await pipeInto(chunks(64, 32 * 1024), target);
    } finally {
      vi.useRealTimers();
    }
    expect(bytes()).toBe(64 * 32 * 1024);
    expect(writes.length).toBeGreaterThan(0);
  });

  it("keeps gathering past the target's high-water mark until a batch is full (save's own limit decides)", async () => {
    const { target, writes, bytes } = recordingTarget(16 * 1024);
    const batcher = new WriteBatcher(target);
    for (let i = 0; i < 32; i++) batcher.write(Buffer.alloc(16 * 1024));
    batcher.flush();
    await new Promise<void>((resolve) => target.end(resolve));
    expect(bytes()).toBe(32 * 16 * 1024);
    expect(writes).toEqual([32]);
  });

  it("rejects and closes the target when the source breaks (the client went away)", async () => {
    const source = new PassThrough();
    const target = new PassThrough();
    target.resume();
    const piping = pipeInto(source, target);
    source.write("partial");
    source.destroy(new Error("aborted"));
    await expect(piping).rejects.toThrow("aborted");
    expect(target.destroyed).toBe(true);
  });
});

/** A target recording the chunk count of each write it gets. */
function countingTarget(highWaterMark = 16 * 1024 * 1024): { target: Writable; writes: number[]; data: () => Buffer } {
  const writes: number[] = [];
  const data: Buffer[] = [];
  const target = new Writable({
    highWaterMark,
    writev(chunks, done) {
      writes.push(chunks.length);
      for (const { chunk } of chunks) data.push(chunk as Buffer);
      setImmediate(done);
    },
  });
  return { target, writes, data: () => Buffer.concat(data) };
}

describe("WriteBatcher, a turn at a time", () => {
  it("sends the writes of one turn together, at its end and with no timer", async () => {
    const { target, writes } = countingTarget();
    const batcher = new WriteBatcher(target, "turn");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      for (let i = 0; i < 5; i++) batcher.write(Buffer.from("x"));
      expect(writes).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      batcher.write(Buffer.from("y"));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      vi.useRealTimers();
    }
    expect(writes).toEqual([5, 1]);
  });

  it("does not leave the target corked after an empty write", async () => {
    const { target, writes } = countingTarget();
    const batcher = new WriteBatcher(target, "turn");
    batcher.write(Buffer.alloc(0));
    await new Promise((resolve) => setImmediate(resolve));
    expect(target.writableCorked).toBe(0);
    target.write(Buffer.from("z"));
    await until(() => writes.length > 0);
  });
});

describe("relayInto", () => {
  it("relays everything, a turn's chunks in one write, and leaves the target open", async () => {
    const source = new PassThrough();
    const { target, writes, data } = countingTarget();
    relayInto(source, target);
    // A frame's header and body, as multiplex hands them on.
    source.write(Buffer.from([1, 0, 0, 0, 0, 0, 0, 5]));
    source.write(Buffer.from("hello"));
    await until(() => writes.length === 1);
    source.end(Buffer.from("!"));
    await until(() => data().length === 14);
    expect(writes).toEqual([2, 1]);
    expect(target.writableEnded).toBe(false);
  });

  it("pauses the source while the target is full", async () => {
    let release = () => {};
    const target = new Writable({
      highWaterMark: 1024,
      write(_chunk, _encoding, done) {
        release = done;
      },
    });
    const source = new PassThrough({ highWaterMark: 1024 });
    relayInto(source, target);
    for (let i = 0; i < 8; i++) source.write(Buffer.alloc(1024));
    await until(() => source.isPaused());
    expect(source.readableLength).toBeGreaterThan(0);
    release();
    await until(() => !source.isPaused());
  });

  it("stops relaying when told, and drops what the source still produces", async () => {
    const source = new PassThrough();
    const { target, data } = countingTarget();
    const stop = relayInto(source, target);
    source.write(Buffer.from("before"));
    await until(() => data().length === 6);
    stop();
    source.write(Buffer.from("after"));
    source.end();
    await until(() => source.readableEnded);
    expect(data().toString()).toBe("before");
  });
});
