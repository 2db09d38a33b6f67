import { PassThrough, type Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { frames, multiplex, STDERR, STDOUT } from "./stdcopy.ts";

/** The chunks as a reader in flowing mode gets them (an async iterator would join them). */
function chunksOf(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => stream.once("end", () => resolve(chunks)));
}

function sources() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  return {
    stdout,
    stderr,
    list: [
      { stream: STDOUT, readable: stdout, wanted: true },
      { stream: STDERR, readable: stderr, wanted: true },
    ] as const,
  };
}

describe("multiplex", () => {
  it.each([false, true])("frames each chunk with its stream and length (split: %s)", async (split) => {
    const { stdout, stderr, list } = sources();
    const merged = multiplex([...list], true, { split });
    const body = Buffer.alloc(70_000, 7);
    stdout.end(body);
    stderr.end("oops");
    const chunks = await chunksOf(merged);
    const parsed = [...frames(Buffer.concat(chunks))].map(({ stream, payload }) => [stream, payload.length]);
    expect(parsed).toEqual([
      [STDOUT, body.length],
      [STDERR, 4],
    ]);
    // Split, the bytes read are handed on as they are, after a header of their own.
    if (split) expect(chunks.map((chunk) => chunk.length)).toEqual([8, body.length, 8, 4]);
    else expect(chunks.map((chunk) => chunk.length)).toEqual([8 + body.length, 8 + 4]);
  });
});
