// A small streaming tar writer (ustar, with pax headers for what ustar cannot hold) and a
// minimal reader. Enough to build image archives for the e2e tests and to look inside them,
// without a dependency.
import { createHash } from 'node:crypto';

const BLOCK = 512;
const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);
// Largest value an 11-digit octal field holds; anything above goes into a pax record.
const MAX_OCTAL_11 = 0o77777777777;

interface EntryMetadata {
  /** Path inside the archive, without a leading slash. Directories may omit the trailing slash. */
  name: string;
  mode?: number;
  /** Seconds since the epoch; defaults to 0 so that archives are reproducible. */
  mtime?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

export interface TarFile extends EntryMetadata {
  type: 'file';
  /** Either the whole content, or a stream of exactly `size` bytes. */
  content: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Required when content is a stream; checked against what the stream yields. */
  size?: number;
}

export interface TarDirectory extends EntryMetadata {
  type: 'directory';
}

export interface TarSymlink extends EntryMetadata {
  type: 'symlink';
  target: string;
}

export type TarEntry = TarFile | TarDirectory | TarSymlink;

const TYPE_FLAGS = { file: '0', directory: '5', symlink: '2' } as const;

function defaultMode(entry: TarEntry): number {
  if (entry.type === 'directory') return 0o755;
  if (entry.type === 'symlink') return 0o777;
  return 0o644;
}

function entryName(entry: TarEntry): string {
  if (entry.type === 'directory' && !entry.name.endsWith('/')) return `${entry.name}/`;
  return entry.name;
}

function fileSize(entry: TarFile): number {
  if (entry.content instanceof Uint8Array) {
    if (entry.size !== undefined && entry.size !== entry.content.byteLength) {
      throw new Error(`tar: ${entry.name}: size ${entry.size} does not match content length ${entry.content.byteLength}`);
    }
    return entry.content.byteLength;
  }
  if (entry.size === undefined) throw new Error(`tar: ${entry.name}: a streamed file needs a size`);
  return entry.size;
}

function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  block.write(value, offset, length, 'utf8');
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length - 1 digits followed by NUL, as GNU tar and Go's archive/tar write them.
  const digits = Math.floor(value).toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new Error(`tar: value ${value} does not fit in ${length} bytes`);
  block.write(`${digits}\0`, offset, length, 'ascii');
}

interface RawHeader {
  name: string;
  typeFlag: string;
  size: number;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  linkname: string;
}

function headerBlock(header: RawHeader): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, header.name);
  writeOctal(block, 100, 8, header.mode & 0o7777);
  writeOctal(block, 108, 8, header.uid);
  writeOctal(block, 116, 8, header.gid);
  writeOctal(block, 124, 12, header.size);
  writeOctal(block, 136, 12, header.mtime);
  block.write(header.typeFlag, 156, 1, 'ascii');
  writeString(block, 157, 100, header.linkname);
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  writeString(block, 265, 32, header.uname);
  writeString(block, 297, 32, header.gname);
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  // The checksum is computed with its own field read as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function paxRecord(key: string, value: string): string {
  // The length prefix counts itself, so grow it until it is stable.
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

/** The header block(s) of an entry: a pax extended header first when ustar cannot hold a field. */
export function encodeTarHeader(entry: TarEntry): Buffer {
  const name = entryName(entry);
  const linkname = entry.type === 'symlink' ? entry.target : '';
  const size = entry.type === 'file' ? fileSize(entry) : 0;
  const records: string[] = [];
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) records.push(paxRecord('path', name));
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) records.push(paxRecord('linkpath', linkname));
  if (size > MAX_OCTAL_11) records.push(paxRecord('size', String(size)));

  const header: RawHeader = {
    name: truncateAscii(name, 100),
    typeFlag: TYPE_FLAGS[entry.type],
    size: size > MAX_OCTAL_11 ? 0 : size,
    mode: entry.mode ?? defaultMode(entry),
    mtime: entry.mtime ?? 0,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    uname: entry.uname ?? '',
    gname: entry.gname ?? '',
    linkname: truncateAscii(linkname, 100),
  };
  if (records.length === 0) return headerBlock(header);

  const paxBody = Buffer.from(records.join(''), 'utf8');
  const paxHeader = headerBlock({
    ...header,
    name: truncateAscii(`PaxHeaders/${baseName(name)}`, 100),
    typeFlag: 'x',
    size: paxBody.byteLength,
    mode: 0o644,
    linkname: '',
  });
  return Buffer.concat([paxHeader, paxBody, Buffer.alloc(paddingFor(paxBody.byteLength)), headerBlock(header)]);
}

function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

// The ustar field is a fallback for readers without pax support; keep it ASCII and in bounds.
function truncateAscii(text: string, maxBytes: number): string {
  return text.replace(/[^\x20-\x7e]/g, '_').slice(0, maxBytes);
}

/** How many bytes `packTar` produces for these entries, without reading any content. */
export function tarArchiveSize(entries: Iterable<TarEntry>): number {
  let total = END_OF_ARCHIVE.byteLength;
  for (const entry of entries) {
    total += encodeTarHeader(entry).byteLength;
    if (entry.type === 'file') {
      const size = fileSize(entry);
      total += size + paddingFor(size);
    }
  }
  return total;
}

/**
 * Streams a tar archive. Content streams are read one entry at a time, so a consumer that applies
 * back-pressure (e.g. `Readable.from(packTar(...))` piped to a file) never holds more than a chunk.
 */
export async function* packTar(
  entries: Iterable<TarEntry> | AsyncIterable<TarEntry>,
): AsyncGenerator<Buffer, void, undefined> {
  for await (const entry of entries) {
    yield encodeTarHeader(entry);
    if (entry.type !== 'file') continue;
    const size = fileSize(entry);
    if (entry.content instanceof Uint8Array) {
      if (size > 0) yield Buffer.from(entry.content.buffer, entry.content.byteOffset, entry.content.byteLength);
    } else {
      let written = 0;
      for await (const chunk of entry.content) {
        written += chunk.byteLength;
        if (written > size) throw new Error(`tar: ${entry.name}: content is longer than its size ${size}`);
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      if (written !== size) throw new Error(`tar: ${entry.name}: content has ${written} bytes, expected ${size}`);
    }
    const padding = paddingFor(size);
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield END_OF_ARCHIVE;
}

// ---------------------------------------------------------------------------------------------
// Reader

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

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readOctal(block: Buffer, offset: number, length: number): number {
  const text = readString(block, offset, length).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function parsePax(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let position = 0;
  while (position < body.byteLength) {
    const space = body.indexOf(0x20, position);
    if (space === -1) break;
    const length = Number.parseInt(body.subarray(position, space).toString('ascii'), 10);
    if (!Number.isFinite(length) || length <= 0) throw new Error('tar: malformed pax record');
    const record = body.subarray(space + 1, position + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals !== -1) records.set(record.slice(0, equals), record.slice(equals + 1));
    position += length;
  }
  return records;
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

/** Accumulates stream chunks and hands out exact byte counts from them. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private offset = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.length += chunk.byteLength;
  }

  discard(count: number): void {
    for (const piece of this.take(count)) void piece;
  }

  /** Takes up to `count` bytes, as the chunks they sit in (no copy when possible). */
  *take(count: number): Generator<Buffer> {
    let remaining = Math.min(count, this.length);
    while (remaining > 0) {
      const head = this.chunks[0]!;
      const available = head.byteLength - this.offset;
      const used = Math.min(available, remaining);
      yield head.subarray(this.offset, this.offset + used);
      remaining -= used;
      this.length -= used;
      this.offset += used;
      if (this.offset === head.byteLength) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
  }
}

/**
 * Reads a tar archive from a byte stream, entry by entry. pax and GNU long-name headers are folded
 * into the entry they describe. Bodies are hashed, and kept when small enough.
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarReadEntry, void, undefined> {
  const bufferLimit = options.bufferLimit ?? 16 * 1024 * 1024;
  const queue = new ChunkQueue();
  const iterator = toAsyncIterator(source);

  async function fill(count: number): Promise<boolean> {
    while (queue.length < count) {
      const next = await iterator.next();
      if (next.done) return false;
      queue.push(next.value);
    }
    return true;
  }

  async function readBody(size: number, keep: boolean): Promise<{ digest: string; data?: Buffer }> {
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let remaining = size;
    while (remaining > 0) {
      if (queue.length === 0 && !(await fill(1))) throw new Error('tar: unexpected end of archive in a body');
      for (const piece of queue.take(remaining)) {
        hash.update(piece);
        if (keep) kept.push(Buffer.from(piece));
        remaining -= piece.byteLength;
      }
    }
    const padding = paddingFor(size);
    if (!(await fill(padding))) throw new Error('tar: unexpected end of archive in padding');
    queue.discard(padding);
    return { digest: `sha256:${hash.digest('hex')}`, ...(keep ? { data: Buffer.concat(kept) } : {}) };
  }

  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (true) {
    if (!(await fill(BLOCK))) {
      if (queue.length === 0) return; // tolerate archives without the end-of-archive blocks
      throw new Error('tar: truncated header');
    }
    const block = Buffer.concat([...queue.take(BLOCK)]);
    if (block.every((byte) => byte === 0)) return;

    const stored = block.subarray(148, 156).toString('ascii').replace(/[\0 ]+$/, '');
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of block) sum += byte;
    if (Number.parseInt(stored, 8) !== sum) throw new Error('tar: header checksum mismatch');

    const typeFlag = String.fromCharCode(block[156]!);
    const size = pax.has('size') ? Number(pax.get('size')) : readOctal(block, 124, 12);

    if (typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'L' || typeFlag === 'K') {
      const { data } = await readBody(size, true);
      if (typeFlag === 'x') pax = new Map([...pax, ...parsePax(data!)]);
      else if (typeFlag === 'L') longName = readString(data!, 0, data!.byteLength);
      else if (typeFlag === 'K') longLink = readString(data!, 0, data!.byteLength);
      // Global ('g') headers are skipped: nothing this project writes or reads uses them.
      continue;
    }

    const prefix = readString(block, 345, 155);
    const ustarName = readString(block, 0, 100);
    const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${ustarName}` : ustarName);
    const linkname = pax.get('linkpath') ?? longLink ?? readString(block, 157, 100);
    const type = typeOf(typeFlag);
    const bodySize = type === 'file' || type === 'other' ? size : 0;
    const body = await readBody(bodySize, bodySize <= bufferLimit);
    yield {
      name,
      type,
      typeFlag,
      mode: readOctal(block, 100, 8),
      uid: readOctal(block, 108, 8),
      gid: readOctal(block, 116, 8),
      mtime: pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : readOctal(block, 136, 12),
      size: bodySize,
      linkname,
      ...body,
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
}

function toAsyncIterator(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterator<Uint8Array> {
  if (Symbol.asyncIterator in source) return source[Symbol.asyncIterator]();
  const syncIterator = source[Symbol.iterator]();
  return {
    next: async () => syncIterator.next(),
  };
}

/** Reads every entry of an in-memory archive. */
export async function listTar(archive: Uint8Array, options: ReadTarOptions = {}): Promise<TarReadEntry[]> {
  const entries: TarReadEntry[] = [];
  for await (const entry of readTar([archive], options)) entries.push(entry);
  return entries;
}
