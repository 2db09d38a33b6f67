/**
 * A path of a confined tree as a tar stream, named as dockerd names the
 * entries of `GET /containers/{id}/archive`: a directory under its own base
 * name ("." for a path ending in "/.", nothing for the root, whose entries
 * then start with "/"), anything else as its base name alone. Symbolic links
 * are archived, never followed; a file linked more than once is a hard link
 * to its first name. Entries are read as the archive is consumed, one file
 * open at a time; what cannot be read (a socket, something gone meanwhile)
 * is left out, as dockerd leaves it out.
 */
import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import { open, readlink, type FileHandle } from "node:fs/promises";
import { heapHeadroomDuringTransfer } from "../io/heap.ts";
import type { ConfinedRoot, Dir, Place } from "./confined-root.ts";
import { goBase, goSplit } from "./go-paths.ts";
import { packTar, type TarEntry } from "./tar-writer.ts";

/** Bytes read from a file per chunk of the archive. */
const READ_CHUNK = 256 * 1024;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** The archive of absPath, a path dockerd's stat found to be a directory (isDir) or not. */
export async function* archivePath(root: ConfinedRoot, absPath: string, isDir: boolean): AsyncGenerator<Buffer, void, undefined> {
  const endTransfer = heapHeadroomDuringTransfer();
  try {
    yield* packTar(archiveEntries(root, absPath, isDir));
  } finally {
    endTransfer();
  }
}

async function* archiveEntries(root: ConfinedRoot, absPath: string, isDir: boolean): AsyncGenerator<TarEntry> {
  const options = { op: "lstat", shown: absPath };
  const place = await root.locate(absPath, { ...options, follow: false });
  const seen = new Map<string, string>();
  try {
    if (!isDir) {
      yield* entriesOf(root, place, goSplit(absPath)[1], seen);
      return;
    }
    const base = goBase(absPath);
    yield* entriesOf(root, place, base === "/" ? "" : base, seen);
  } finally {
    await place.dir.release();
  }
}

/** Byte order, as Go sorts a directory's names. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function* entriesOf(root: ConfinedRoot, place: Place, name: string, seen: Map<string, string>): AsyncGenerator<TarEntry> {
  let stats: BigIntStats;
  try {
    stats = await root.lstat(place);
  } catch {
    return;
  }
  const kind = Number(stats.mode) & S_IFMT;
  const metadata = {
    name,
    mode: Number(stats.mode) & 0o7777,
    mtime: Number(stats.mtimeNs / 1_000_000_000n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
  };
  if (kind === S_IFDIR) {
    yield { ...metadata, type: "directory" };
    yield* childrenOf(root, place, name, seen);
    return;
  }
  if (stats.nlink > 1n) {
    const inode = `${stats.dev}:${stats.ino}`;
    const first = seen.get(inode);
    if (first !== undefined) {
      yield { ...metadata, type: "hardlink", target: first };
      return;
    }
    seen.set(inode, name);
  }
  const entry = await describe(place, kind, stats, metadata);
  if (!entry) {
    seen.delete(`${stats.dev}:${stats.ino}`);
    return;
  }
  try {
    yield entry;
  } finally {
    if (entry.type === "file" && entry.content instanceof FileContent) await entry.content.close();
  }
}

type Metadata = { name: string; mode: number; mtime: number; uid: number; gid: number };

/** A non-directory's entry; undefined when it cannot be archived (a socket) or read. */
async function describe(place: Place, kind: number, stats: BigIntStats, metadata: Metadata): Promise<TarEntry | undefined> {
  const path = place.name === undefined ? place.dir.self : place.dir.entry(place.name);
  try {
    switch (kind) {
      case S_IFREG: {
        const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        const opened = await handle.stat({ bigint: true }).catch(() => undefined);
        if (!opened || opened.ino !== stats.ino || (Number(opened.mode) & S_IFMT) !== S_IFREG) {
          await handle.close();
          return undefined;
        }
        const size = Number(stats.size);
        return { ...metadata, type: "file", size, content: new FileContent(handle, size) };
      }
      case S_IFLNK:
        return { ...metadata, type: "symlink", target: await readlink(path) };
      case S_IFCHR:
      case S_IFBLK: {
        return { ...metadata, type: kind === S_IFCHR ? "char" : "block", major: deviceMajor(stats.rdev), minor: deviceMinor(stats.rdev) };
      }
      case S_IFIFO:
        return { ...metadata, type: "fifo" };
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** glibc's major()/minor() of a dev_t. */
const deviceMajor = (rdev: bigint) => Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
const deviceMinor = (rdev: bigint) => Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));

async function* childrenOf(root: ConfinedRoot, place: Place, name: string, seen: Map<string, string>): AsyncGenerator<TarEntry> {
  const options = { op: "open", shown: place.path };
  let dir: Dir;
  try {
    dir = await root.enter(place, options);
  } catch {
    return;
  }
  try {
    let names: string[];
    try {
      names = (await root.names(dir)).sort(byBytes);
    } catch {
      return;
    }
    for (const child of names) {
      let childPlace: Place;
      try {
        childPlace = await root.child(dir, child, options);
      } catch {
        continue;
      }
      try {
        yield* entriesOf(root, childPlace, `${name}/${child}`, seen);
      } finally {
        if (childPlace.dir !== dir) await childPlace.dir.release();
      }
    }
  } finally {
    if (dir !== place.dir) await dir.release();
  }
}

/**
 * A file's bytes, exactly `size` of them however the file changes meanwhile
 * (cut short or padded with zeros). Its handle closes once they are read, or
 * on close() when the archive stops between the entry's header and its
 * bytes: a generator never started would not run its cleanup.
 */
class FileContent implements AsyncIterable<Uint8Array> {
  readonly #handle: FileHandle;
  readonly #size: number;
  #closed = false;

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.#size = size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      let left = this.#size;
      let ended = false;
      while (left > 0) {
        // Not zeroed first: every byte is read into, or zeroed below when the file came up short.
        const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
        let filled = 0;
        while (!ended && filled < buffer.length) {
          const { bytesRead } = await this.#handle.read(buffer, filled, buffer.length - filled, null);
          if (bytesRead === 0) ended = true;
          filled += bytesRead;
        }
        buffer.fill(0, filled);
        left -= buffer.length;
        yield buffer;
      }
    } finally {
      await this.close();
    }
  }
}
