import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GatheredFileWriter } from "./file-writer.ts";

const KIB = 1024;

/** A handle recording its writes, taking at most `limit` bytes per call. */
function recordingHandle(limit = Number.POSITIVE_INFINITY) {
  const calls: number[] = [];
  const written: Buffer[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  return {
    calls,
    written: () => Buffer.concat(written),
    mostInFlight: () => mostInFlight,
    async writev(buffers: Buffer[]) {
      calls.push(buffers.length);
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      let left = limit;
      for (const buffer of buffers) {
        const part = buffer.subarray(0, Math.min(buffer.length, left));
        written.push(Buffer.from(part));
        left -= part.length;
        if (left === 0) break;
      }
      return { bytesWritten: Math.min(limit, buffers.reduce((sum, buffer) => sum + buffer.length, 0)) };
    },
  };
}

const pieces = (count: number, size: number) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 251));

describe("GatheredFileWriter", () => {
  it("writes the pieces in order, gathered into a write per MiB, one at a time", async () => {
    const handle = recordingHandle();
    const writer = new GatheredFileWriter(handle);
    const input = pieces(100, 48 * KIB);
    for (const piece of input) await writer.write(piece);
    await writer.flush();
    expect(handle.written().equals(Buffer.concat(input))).toBe(true);
    // 4.7 MiB in 48 KiB pieces: four full batches of 22 pieces and the rest.
    expect(handle.calls).toEqual([22, 22, 22, 22, 12]);
    expect(handle.mostInFlight()).toBe(1);
  });

  it("takes up a short write where it stopped, inside a piece", async () => {
    const handle = recordingHandle(100 * KIB + 7);
    const writer = new GatheredFileWriter(handle);
    const input = pieces(40, 64 * KIB);
    for (const piece of input) await writer.write(piece);
    await writer.flush();
    expect(handle.written().equals(Buffer.concat(input))).toBe(true);
    expect(handle.calls.length).toBeGreaterThan(20);
  });

  it("fails the next write once a write failed, and lets the file be closed after it", async () => {
    let calls = 0;
    const writer = new GatheredFileWriter({
      writev: async () => {
        calls += 1;
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      },
    });
    const input = pieces(40, 64 * KIB);
    let failure: unknown;
    try {
      for (const piece of input) await writer.write(piece);
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).toMatch(/ENOSPC/);
    expect(calls).toBe(1);
    await expect(writer.settled()).resolves.toBeUndefined();
  });

  it("writes a real file through its handle", async () => {
    const dir = await mkdtemp(join(tmpdir(), "file-writer-"));
    try {
      const handle = await open(join(dir, "f"), "w");
      const writer = new GatheredFileWriter(handle);
      const input = [...pieces(30, 60 * KIB), Buffer.from("tail")];
      for (const piece of input) await writer.write(piece);
      await writer.flush();
      await handle.close();
      expect((await readFile(join(dir, "f"))).equals(Buffer.concat(input))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
