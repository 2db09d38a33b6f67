import type { TarHeader } from "./tar-format.ts";
import { TarParser, type TarParserOptions } from "./tar-parser.ts";

/** What reading an archive finds, in order: each entry, its body's pieces, the end of its body. */
export type TarEvent = { kind: "entry"; header: TarHeader } | { kind: "data"; piece: Buffer } | { kind: "entry-end" };

/**
 * An archive read from a stream, as events: the source is read only as fast as
 * the events are consumed (a chunk at a time), and what a chunk held before a
 * broken rule is handed out before the error.
 */
export async function* readTar(source: AsyncIterable<Buffer>, options: TarParserOptions): AsyncGenerator<TarEvent, void, undefined> {
  const events: TarEvent[] = [];
  const parser = new TarParser(
    {
      entry: (header) => events.push({ kind: "entry", header }),
      data: (piece) => events.push({ kind: "data", piece }),
      entryEnd: () => events.push({ kind: "entry-end" }),
    },
    options,
  );
  for await (const chunk of source) {
    let failure: { error: unknown } | undefined;
    try {
      parser.feed(chunk);
    } catch (error) {
      failure = { error };
    }
    yield* events.splice(0);
    if (failure) throw failure.error;
  }
  parser.end();
}
