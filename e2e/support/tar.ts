// Looking inside archives in the e2e tests: entries with the sha256 of their bodies, and the
// bodies themselves when small. Reading (and writing) is lib/archive's.
import { createHash } from 'node:crypto';
import { readTar as readTarEvents } from '../../lib/archive/tar-reader.ts';

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarReadEntry {
  name: string;
  type: TarEntryType;
  /** The raw type flag, for entries of type 'other'. */
  typeFlag: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname: string;
  /** sha256 of the body as `sha256:<hex>`, computed while streaming. */
  digest: string;
  /** The body, when it is no larger than the reader's `bufferLimit`. */
  data?: Buffer;
}

export interface ReadTarOptions {
  /** Bodies up to this size are kept in `data`; larger ones are only hashed. Default 16 MiB. */
  bufferLimit?: number;
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

async function* buffers(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Reads a tar archive from a byte stream, entry by entry. Bodies are hashed, and kept when small enough. */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarReadEntry, void, undefined> {
  const bufferLimit = options.bufferLimit ?? 16 * 1024 * 1024;
  let current: { entry: TarReadEntry; hash: ReturnType<typeof createHash>; kept?: Buffer[] } | undefined;
  for await (const event of readTarEvents(buffers(source), { subject: 'the archive' })) {
    if (event.kind === 'entry') {
      const { header } = event;
      const type = typeOf(header.type);
      const entry: TarReadEntry = {
        name: header.name,
        type,
        typeFlag: header.type,
        mode: header.mode,
        uid: header.uid,
        gid: header.gid,
        mtime: Math.floor(header.mtime),
        size: type === 'file' || type === 'other' ? header.size : 0,
        linkname: header.linkname,
        digest: '',
      };
      current = { entry, hash: createHash('sha256'), ...(header.size <= bufferLimit ? { kept: [] } : {}) };
    } else if (event.kind === 'data') {
      current!.hash.update(event.piece);
      current!.kept?.push(Buffer.from(event.piece));
    } else {
      const { entry, hash, kept } = current!;
      yield { ...entry, digest: `sha256:${hash.digest('hex')}`, ...(kept ? { data: Buffer.concat(kept) } : {}) };
      current = undefined;
    }
  }
}

/** Reads every entry of an in-memory archive. */
export async function listTar(archive: Uint8Array, options: ReadTarOptions = {}): Promise<TarReadEntry[]> {
  const entries: TarReadEntry[] = [];
  for await (const entry of readTar([archive], options)) entries.push(entry);
  return entries;
}
