import { PassThrough, type Readable } from "node:stream";
import { frame, STDERR, STDOUT } from "../docker/stdcopy.ts";

export interface MultiplexSource {
  stream: typeof STDOUT | typeof STDERR;
  readable: Readable;
  /** Whether the client asked for this stream; unwanted output is read and dropped. */
  wanted: boolean;
}

/**
 * Merges a child's stdout and stderr into one stream: stdcopy frames, or the
 * bytes as they are for a container with a terminal. When the client reads
 * slowly, both sources pause (back-pressure reaches the child).
 */
export function multiplex(sources: MultiplexSource[], framed: boolean): Readable {
  const out = new PassThrough();
  let open = sources.length;
  const pauseAll = () => sources.forEach((source) => source.readable.pause());
  const resumeAll = () => sources.forEach((source) => source.readable.resume());
  for (const source of sources) {
    source.readable.on("data", (data: Buffer | string) => {
      const chunk = typeof data === "string" ? Buffer.from(data) : data;
      if (!source.wanted || chunk.length === 0) return;
      if (!out.write(framed ? frame(source.stream, chunk) : chunk)) {
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
