import { createGunzip } from "node:zlib";
import { badParameter } from "../errors.ts";
import { untilDrained } from "../io/writable.ts";

const toBuffer = (chunk: Buffer | string): Buffer => (typeof chunk === "string" ? Buffer.from(chunk) : chunk);

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * An archive's bytes, gunzipped when they start with gzip's magic number;
 * bzip2 and xz are refused by name. subject names the archive in errors
 * ("the build context").
 */
export async function decompressed(source: AsyncIterator<Buffer | string>, subject: string): Promise<AsyncIterable<Buffer>> {
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 6) {
    const next = await source.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(toBuffer(next.value));
    headLength += head.at(-1)!.length;
  }
  const start = Buffer.concat(head);
  async function* all(): AsyncGenerator<Buffer> {
    if (start.length > 0) yield start;
    if (ended) return;
    for (let next = await source.next(); !next.done; next = await source.next()) yield toBuffer(next.value);
  }
  if (start[0] === 0x1f && start[1] === 0x8b) return gunzip(all(), subject);
  if (start.subarray(0, 3).toString("latin1") === "BZh") throw badParameter(`${subject} is bzip2-compressed: send a plain or gzip-compressed tar archive`);
  if (start.subarray(0, 6).equals(XZ_MAGIC)) throw badParameter(`${subject} is xz-compressed: send a plain or gzip-compressed tar archive`);
  return all();
}

/** Gunzips with back-pressure: the source is read only as fast as the output is consumed. */
async function* gunzip(source: AsyncIterable<Buffer>, subject: string): AsyncGenerator<Buffer> {
  const inflater = createGunzip();
  let failed: unknown;
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        if (inflater.destroyed) return;
        if (!inflater.write(chunk)) await untilDrained(inflater);
      }
      if (!inflater.destroyed) inflater.end();
    } catch (error) {
      failed = error;
      inflater.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    if (failed) throw failed;
    throw badParameter(`${subject} is not a valid gzip stream: ${(error as Error).message}`);
  } finally {
    inflater.destroy();
    await feeding;
  }
  if (failed) throw failed;
}
