/**
 * The tar format's header block: POSIX ustar fields, pax records, and the
 * GNU base-256 numbers Go's archive/tar writes for values octal cannot hold.
 */

export const BLOCK = 512;

/** Zero bytes after a body of this size, up to the next block. */
export const paddingAfter = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** A header that cannot be read; reason completes "… is not a valid tar archive: ". */
export class MalformedTar extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** One header block, read. */
export interface TarHeader {
  name: string;
  linkname: string;
  /** Permission bits as stored (setuid, setgid and sticky included). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of body that follow (before padding). */
  size: number;
  /** Seconds since the epoch; pax records may make it fractional. */
  mtime: number;
  /** The type flag: "0" or "\0" file, "5" directory, "2" symbolic link, "1" hard link, "x" pax records, … */
  type: string;
  /** A device's numbers (0 for anything else). */
  devmajor: number;
  devminor: number;
  /** Access time, seconds since the epoch, when a pax record gives it. */
  atime?: number;
}

/** A NUL-terminated text field. */
export function cString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return (end === -1 ? field : field.subarray(0, end)).toString("utf8");
}

/** A numeric field: octal text, or GNU's base-256 when the high bit is set. */
function numeric(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) throw new MalformedTar("negative number in a header");
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    if (!Number.isSafeInteger(value)) throw new MalformedTar("number out of range in a header");
    return value;
  }
  const text = field.toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new MalformedTar("invalid header");
  return Number.parseInt(text, 8);
}

/** Owners and device numbers: an unreadable one is 0 rather than a refusal (an entry's place does not depend on them). */
function owner(block: Buffer, offset: number): number {
  try {
    return numeric(block, offset, 8);
  } catch {
    return 0;
  }
}

/** The stored checksum against the block's sum, unsigned (POSIX) or signed (old Sun tar). */
function checksumMatches(block: Buffer): boolean {
  const field = block.subarray(148, 156).toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = Number.parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Reads a (non-zero) header block; MalformedTar when it is not one. */
export function decodeHeader(block: Buffer): TarHeader {
  if (!checksumMatches(block)) throw new MalformedTar("header checksum mismatch");
  let name = cString(block, 0, 100);
  // POSIX ustar keeps the start of long names in a prefix field; old GNU headers use those bytes otherwise.
  if (block.subarray(257, 263).toString("latin1") === "ustar\0") {
    const prefix = cString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    linkname: cString(block, 157, 100),
    mode: numeric(block, 100, 8),
    uid: owner(block, 108),
    gid: owner(block, 116),
    size: numeric(block, 124, 12),
    mtime: numeric(block, 136, 12),
    type: String.fromCharCode(block[156]!),
    devmajor: owner(block, 329),
    devminor: owner(block, 337),
  };
}

/** pax extended header records (`<length> <key>=<value>\n`). */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? Number.NaN : Number.parseInt(data.subarray(at, space).toString("latin1"), 10);
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw new MalformedTar("invalid pax header");
    }
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (equals <= 0) throw new MalformedTar("invalid pax header");
    records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

/** One pax record; its length prefix counts itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

/** What a header block to write holds; text fields must already fit. */
export interface HeaderFields {
  name: string;
  type: string;
  size: number;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  linkname: string;
  /** A device's numbers (character and block devices). */
  devmajor?: number;
  devminor?: number;
}

/** length - 1 octal digits and a NUL, as GNU tar and Go's archive/tar write them. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const digits = Math.floor(value).toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new Error(`tar: value ${value} does not fit in ${length} bytes`);
  block.write(`${digits}\0`, offset, length, "ascii");
}

/** A ustar header block. */
export function encodeHeader(header: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(header.name, 0, 100, "utf8");
  writeOctal(block, 100, 8, header.mode & 0o7777);
  writeOctal(block, 108, 8, header.uid);
  writeOctal(block, 116, 8, header.gid);
  writeOctal(block, 124, 12, header.size);
  writeOctal(block, 136, 12, header.mtime);
  block.write(header.type, 156, 1, "ascii");
  block.write(header.linkname, 157, 100, "utf8");
  block.write("ustar\0", 257, 6, "ascii");
  block.write("00", 263, 2, "ascii");
  block.write(header.uname, 265, 32, "utf8");
  block.write(header.gname, 297, 32, "utf8");
  writeOctal(block, 329, 8, header.devmajor ?? 0);
  writeOctal(block, 337, 8, header.devminor ?? 0);
  // The checksum is computed with its own field read as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return block;
}
