import type { Readable } from "node:stream";

/** The first non-empty chunk of a stream, or null when it ends without one; the rest stays unread. */
export function firstChunk(stream: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const settle = (action: () => void) => {
      stream.off("readable", onReadable).off("end", onEnd).off("error", onError);
      action();
    };
    const onReadable = () => {
      for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
        if (chunk.length > 0) return settle(() => resolve(chunk));
      }
    };
    const onEnd = () => settle(() => resolve(null));
    const onError = (error: Error) => settle(() => reject(error));
    stream.on("readable", onReadable).once("end", onEnd).once("error", onError);
  });
}

/**
 * Reads an iterator to its end, or until `limit` bytes have gone by, dropping
 * what it yields (the rest of a refused request body, so the client gets its
 * answer). True when the iterator ended.
 */
export async function drainIterator(source: AsyncIterator<unknown>, limit = Number.POSITIVE_INFINITY): Promise<boolean> {
  let read = 0;
  try {
    while (read < limit) {
      const next = await source.next();
      if (next.done) return true;
      read += (next.value as { length?: number } | undefined)?.length ?? 0;
    }
    return false;
  } catch {
    // the client went away: nothing left to read
    return true;
  }
}
