import { PassThrough, type Readable } from "node:stream";

/** Docker's multiplexed stream ("stdcopy"): each chunk framed with its stream and length. */
export const STDOUT = 1;
export const STDERR = 2;

/** A frame's header: [stream, 0, 0, 0, length as big-endian uint32]; the bytes follow it. */
function frameHeader(stream: typeof STDOUT | typeof STDERR, length: number): Buffer {
  // From Node's shared pool: one allocation per frame would cost more than the header.
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(stream * 2 ** 24, 0);
  header.writeUInt32BE(length, 4);
  return header;
}

/** One frame: its header, then the bytes. */
export function frame(stream: typeof STDOUT | typeof STDERR, chunk: Uint8Array): Buffer {
  return Buffer.concat([frameHeader(stream, chunk.length), chunk]);
}

/** Splits a multiplexed stream back into frames (for tests and clients of our own). */
export function* frames(data: Buffer): Generator<{ stream: number; payload: Buffer }> {
  let offset = 0;
  while (offset + 8 <= data.length) {
    const size = data.readUInt32BE(offset + 4);
    yield { stream: data[offset]!, payload: data.subarray(offset + 8, offset + 8 + size) };
    offset += 8 + size;
  }
}

/** How a container's output is announced: frames as such from API 1.42 on, a terminal's bytes always raw. */
export function outputContentType(framed: boolean, since142: boolean): string {
  return framed && since142 ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";
}

export interface MultiplexSource {
  stream: typeof STDOUT | typeof STDERR;
  readable: Readable;
  /** Whether the client asked for this stream; unwanted output is read and dropped. */
  wanted: boolean;
}

/**
 * Merges a child's stdout and stderr into one stream: stdcopy frames, or the
 * bytes as they are for a container with a terminal. When the client reads
 * slowly, both sources pause (back-pressure reaches the child). `split`
 * frames leave as two chunks, the header and the bytes as read, for a
 * reader that gathers its writes (an exec's relay): a GiB of output is then
 * not copied once more, nor allocated twice.
 */
export function multiplex(sources: MultiplexSource[], framed: boolean, options: { split?: boolean } = {}): Readable {
  const out = new PassThrough();
  let open = sources.length;
  const pauseAll = () => sources.forEach((source) => source.readable.pause());
  const resumeAll = () => sources.forEach((source) => source.readable.resume());
  for (const source of sources) {
    source.readable.on("data", (data: Buffer | string) => {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      if (!source.wanted || chunk.length === 0) return;
      if (framed && options.split) out.write(frameHeader(source.stream, chunk.length));
      if (!out.write(framed && !options.split ? frame(source.stream, chunk) : chunk)) {
        pauseAll();
        out.once("drain", resumeAll);
      }
    });
    source.readable.once("close", () => {
      open -= 1;
      if (open === 0) out.end();
    });
  }
  return out;
}
