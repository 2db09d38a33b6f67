import { PassThrough, Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import { pipeInto } from "./pipe.ts";
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
