/**
 * Writing tar archives as a stream: ustar headers, with a pax record first for
 * what ustar cannot hold (long or non-ASCII names, sizes of 8 GiB and more).
 */
import { BLOCK, encodeHeader, paddingAfter, paxRecord, type HeaderFields } from "./tar-format.ts";

const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);
/** Largest value an 11-digit octal field holds; anything above goes into a pax record. */
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
  type: "file";
  /** Either the whole content, or a stream of exactly `size` bytes. */
  content: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Required when content is a stream; checked against what the stream yields. */
  size?: number;
}

export interface TarDirectory extends EntryMetadata {
  type: "directory";
}

export interface TarSymlink extends EntryMetadata {
  type: "symlink";
  target: string;
}

/** Another name of a file that came earlier in the archive. */
export interface TarHardlink extends EntryMetadata {
  type: "hardlink";
  /** The earlier entry's name. */
  target: string;
}

export interface TarDevice extends EntryMetadata {
  type: "char" | "block";
  major: number;
  minor: number;
}

export interface TarFifo extends EntryMetadata {
  type: "fifo";
}

export type TarEntry = TarFile | TarDirectory | TarSymlink | TarHardlink | TarDevice | TarFifo;

const TYPE_FLAGS = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", directory: "5", fifo: "6" } as const;

function defaultMode(entry: TarEntry): number {
  if (entry.type === "directory") return 0o755;
  if (entry.type === "symlink") return 0o777;
  return 0o644;
}

function entryName(entry: TarEntry): string {
  if (entry.type === "directory" && !entry.name.endsWith("/")) return `${entry.name}/`;
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

const isAscii = (text: string): boolean => /^[\x20-\x7e]*$/.test(text);

/** The ustar field is a fallback for readers without pax support: ASCII and in bounds. */
const truncateAscii = (text: string, maxBytes: number): string => text.replace(/[^\x20-\x7e]/g, "_").slice(0, maxBytes);

function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The header block(s) of an entry: a pax extended header first when ustar cannot hold a field. */
export function encodeTarHeader(entry: TarEntry): Buffer {
  const name = entryName(entry);
  const linkname = entry.type === "symlink" || entry.type === "hardlink" ? entry.target : "";
  const size = entry.type === "file" ? fileSize(entry) : 0;
  const records: string[] = [];
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) records.push(paxRecord("path", name));
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) records.push(paxRecord("linkpath", linkname));
  if (size > MAX_OCTAL_11) records.push(paxRecord("size", String(size)));

  const header: HeaderFields = {
    name: truncateAscii(name, 100),
    type: TYPE_FLAGS[entry.type],
    size: size > MAX_OCTAL_11 ? 0 : size,
    mode: entry.mode ?? defaultMode(entry),
    mtime: entry.mtime ?? 0,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    uname: entry.uname ?? "",
    gname: entry.gname ?? "",
    linkname: truncateAscii(linkname, 100),
    ...(entry.type === "char" || entry.type === "block" ? { devmajor: entry.major, devminor: entry.minor } : {}),
  };
  if (records.length === 0) return encodeHeader(header);

  const paxBody = Buffer.from(records.join(""), "utf8");
  const paxHeader = encodeHeader({
    ...header,
    name: truncateAscii(`PaxHeaders/${baseName(name)}`, 100),
    type: "x",
    size: paxBody.byteLength,
    mode: 0o644,
    linkname: "",
  });
  return Buffer.concat([paxHeader, paxBody, Buffer.alloc(paddingAfter(paxBody.byteLength)), encodeHeader(header)]);
}

/** How many bytes `packTar` produces for these entries, without reading any content. */
export function tarArchiveSize(entries: Iterable<TarEntry>): number {
  let total = END_OF_ARCHIVE.byteLength;
  for (const entry of entries) {
    total += encodeTarHeader(entry).byteLength;
    if (entry.type === "file") {
      const size = fileSize(entry);
      total += size + paddingAfter(size);
    }
  }
  return total;
}

/**
 * Streams a tar archive. Content streams are read one entry at a time, so a consumer that applies
 * back-pressure (e.g. `Readable.from(packTar(...))` piped to a file) never holds more than a chunk.
 */
export async function* packTar(entries: Iterable<TarEntry> | AsyncIterable<TarEntry>): AsyncGenerator<Buffer, void, undefined> {
  for await (const entry of entries) {
    yield encodeTarHeader(entry);
    if (entry.type !== "file") continue;
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
    const padding = paddingAfter(size);
    if (padding > 0) yield Buffer.alloc(padding);
  }
  yield END_OF_ARCHIVE;
}
