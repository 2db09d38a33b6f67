/**
 * A tar stream unpacked into a directory of a confined tree, with the rules
 * of dockerd's archive.Unpack for `PUT /containers/{id}/archive`: entry names
 * are cleaned and may not climb out of the destination, an existing entry is
 * replaced unless both are directories, parents the archive does not hold
 * are made, owners, modes and times are the archive's (or one owner for all),
 * directories get their times last. Every path is resolved inside the tree
 * (confined-root.ts), and every change is made through a descriptor or on a
 * single entry of a held directory, never following a last symbolic link.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readdir, rmdir, symlink, unlink, utimes, type FileHandle } from "node:fs/promises";
import { promisify } from "node:util";
import { ApiError } from "../errors.ts";
import { GatheredFileWriter } from "../io/file-writer.ts";
import { heapHeadroomDuringTransfer } from "../io/heap.ts";
import { Dir, O_PATH, TreeError, treeError, type ConfinedRoot, type Place } from "./confined-root.ts";
import { goClean, goDir, goJoin, goRel } from "./go-paths.ts";
import type { TarHeader } from "./tar-format.ts";
import { readTar } from "./tar-reader.ts";

const execFileAsync = promisify(execFile);

export interface UnpackOptions {
  /** Refuse to replace a directory with something else, or the reverse. */
  noOverwriteDirNonDir: boolean;
  /** One owner for everything instead of the archive's (docker cp -a, the container's user). */
  owner?: { uid: number; gid: number };
}

/** A refusal of dockerd's (a breakout, an overwrite it does not allow): a 500 with its words. */
export class UnpackError extends Error {}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** Mode of the parents dockerd makes for entries whose directories the archive lacks. */
const IMPLIED_DIRECTORY_MODE = 0o755;

const quote = (value: string) => JSON.stringify(value);

interface OpenFile {
  handle: FileHandle;
  writer: GatheredFileWriter;
  header: TarHeader;
  path: string;
}

/** Unpacks the (decompressed) archive into dest, a directory path inside root already resolved. */
export async function unpackInto(root: ConfinedRoot, dest: string, source: AsyncIterable<Buffer>, options: UnpackOptions): Promise<void> {
  const endTransfer = heapHeadroomDuringTransfer();
  try {
    await new Unpacker(root, goClean(dest), options).run(source);
  } finally {
    endTransfer();
  }
}

class Unpacker {
  readonly #directories: { path: string; header: TarHeader }[] = [];
  /** Parents already seen to exist: an archive's entries share them, and only a removal here can take one away. */
  readonly #existing = new Set<string>();

  constructor(
    private readonly root: ConfinedRoot,
    private readonly dest: string,
    private readonly options: UnpackOptions,
  ) {}

  async run(source: AsyncIterable<Buffer>): Promise<void> {
    let file: OpenFile | undefined;
    try {
      for await (const event of readTar(source, { subject: "the archive" })) {
        if (event.kind === "entry") file = await this.#entry(event.header);
        else if (event.kind === "data") {
          if (file) await file.writer.write(event.piece);
        } else if (file) {
          const done = file;
          file = undefined;
          try {
            await done.writer.flush();
            await this.#metadata(done.header, done.path, { handle: done.handle });
          } finally {
            await done.writer.settled();
            await done.handle.close();
          }
        }
      }
    } catch (error) {
      // A broken archive is a 500 in Go's archive/tar words, as dockerd reports it, not a refused parameter.
      if (error instanceof ApiError && error.kind === "invalid-parameter") throw new UnpackError(goTarError(error.message));
      throw error;
    } finally {
      await file?.writer.settled();
      await file?.handle.close().catch(() => {});
    }
    for (const { path, header } of this.#directories) {
      await this.#withPlace(path, true, "chtimes", (place) => setTimes(place, header.atime ?? 0, header.mtime, path));
    }
  }

  /** Makes what an entry is; a file is returned open for its body. */
  async #entry(header: TarHeader): Promise<OpenFile | undefined> {
    const name = goClean(header.name);
    const path = goJoin(this.dest, name);
    const rel = goRel(this.dest, path);
    if (rel === ".." || rel.startsWith("../")) throw new UnpackError(`${quote(name)} is outside of ${quote(this.dest)}`);
    const isDirectory = header.type === "5";
    if (path !== this.dest && !this.#existing.has(goDir(path))) {
      await this.#impliedParents(goDir(path));
      this.#existing.add(goDir(path));
    }
    const place = await this.root.locate(path, { follow: false, op: "lstat", shown: path });
    try {
      const existing = await this.root.lstat(place).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw treeError(error, "lstat", path);
      });
      if (existing) {
        const wasDirectory = (Number(existing.mode) & S_IFMT) === S_IFDIR;
        if (this.options.noOverwriteDirNonDir && wasDirectory && !isDirectory) {
          throw new UnpackError(`cannot overwrite directory ${quote(path)} with non-directory ${quote(this.dest)}`);
        }
        if (this.options.noOverwriteDirNonDir && !wasDirectory && isDirectory) {
          throw new UnpackError(`cannot overwrite non-directory ${quote(path)} with directory ${quote(this.dest)}`);
        }
        if (wasDirectory && name === ".") return undefined;
        if (!(wasDirectory && isDirectory)) {
          await this.#remove(place);
          this.#existing.clear();
        }
      }
      return await this.#create(header, place, path, existing !== undefined && (Number(existing.mode) & S_IFMT) === S_IFDIR);
    } finally {
      await place.dir.release();
    }
  }

  async #create(header: TarHeader, place: Place, path: string, directoryThere: boolean): Promise<OpenFile | undefined> {
    const { dir, name } = place;
    if (dir.origin.readonly) throw new TreeError("open", path, "EROFS");
    if (name === undefined) {
      // A directory reached as itself (a mount's root): merged, as any directory is.
      if (header.type !== "5" || !directoryThere) throw new TreeError("unlinkat", path, "EBUSY");
      this.#directories.push({ path, header });
      await this.#metadata(header, path, { dir });
      return undefined;
    }
    const entry = dir.entry(name);
    switch (header.type) {
      case "5":
        if (!directoryThere) await mkdir(entry, header.mode & 0o7777).catch((error: unknown) => fail(error, "mkdir", path));
        this.#directories.push({ path, header });
        break;
      case "0":
      case "\0":
      case "7": {
        const handle = await open(entry, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600).catch((error: unknown) =>
          fail(error, "open", path),
        );
        return { handle, writer: new GatheredFileWriter(handle), header, path };
      }
      case "1":
        await this.#hardlink(header, dir, name, path);
        break;
      case "2": {
        const target = goJoin(goDir(path), header.linkname);
        if (!target.startsWith(this.dest)) throw new UnpackError(`invalid symlink ${quote(path)} -> ${quote(header.linkname)}`);
        await symlink(header.linkname, entry).catch((error: unknown) => fail(error, `symlink ${header.linkname}`, path));
        break;
      }
      case "3":
      case "4":
      case "6":
        await makeNode(dir, name, header).catch((error: unknown) => fail(error, "mknod", path));
        break;
      default:
        throw new UnpackError(`unhandled tar header type ${header.type.charCodeAt(0)}`);
    }
    await this.#metadata(header, path, { dir, name });
    return undefined;
  }

  async #hardlink(header: TarHeader, dir: Dir, name: string, path: string): Promise<void> {
    const targetPath = goJoin(this.dest, header.linkname);
    if (!targetPath.startsWith(this.dest)) throw new UnpackError(`invalid hardlink ${quote(targetPath)} -> ${quote(header.linkname)}`);
    const target = await this.root.locate(targetPath, { follow: false, op: "link", shown: targetPath });
    try {
      if (target.name === undefined) throw new TreeError(`link ${targetPath}`, path, "EPERM");
      // Two names on two file systems (the tree and a mount, or two mounts) are never one file.
      if (target.dir.origin.id !== dir.origin.id) throw new TreeError(`link ${targetPath}`, path, "EXDEV");
      await link(target.dir.entry(target.name), dir.entry(name)).catch((error: unknown) => fail(error, `link ${targetPath}`, path));
    } finally {
      await target.dir.release();
    }
  }

  /** Owner, mode and times, in dockerd's order (the owner first: chown clears setuid bits). */
  async #metadata(header: TarHeader, path: string, at: { handle: FileHandle } | { dir: Dir; name?: string }): Promise<void> {
    const owner = this.options.owner ?? { uid: header.uid, gid: header.gid };
    const mtime = header.mtime;
    const atime = Math.max(header.atime ?? 0, mtime);
    if ("handle" in at) {
      await at.handle.chown(owner.uid, owner.gid).catch((error: unknown) => fail(error, "lchown", path));
      await at.handle.chmod(header.mode & 0o7777).catch((error: unknown) => fail(error, "chmod", path));
      await at.handle.utimes(atime, mtime).catch((error: unknown) => fail(error, "chtimes", path));
      return;
    }
    const entry = at.name === undefined ? at.dir.self : at.dir.entry(at.name);
    if (header.type === "2") {
      await lchown(entry, owner.uid, owner.gid).catch((error: unknown) => fail(error, "lchown", path));
      await lutimes(entry, atime, mtime).catch((error: unknown) => fail(error, "lutimes", path));
      return;
    }
    await onInode(entry, path, async (inode, isLink) => {
      if (isLink) return lchown(entry, owner.uid, owner.gid);
      await chown(inode, owner.uid, owner.gid);
      await chmod(inode, header.mode & 0o7777);
      await utimes(inode, atime, mtime);
    });
  }

  /** Parents an entry needs that do not exist, made as dockerd's MkdirAll makes them (root's, 0755). */
  async #impliedParents(parent: string): Promise<void> {
    const exists = await this.root.locate(parent, { follow: false, op: "lstat", shown: parent }).then(
      async (place) => {
        const stats = await this.root.lstat(place).catch(() => undefined);
        await place.dir.release();
        return stats !== undefined;
      },
      (error: unknown) => {
        if (error instanceof TreeError && error.code === "ENOENT") return false;
        throw error;
      },
    );
    if (exists) return;
    let prefix = "";
    for (const part of parent.split("/").filter(Boolean)) {
      prefix = `${prefix}/${part}`;
      await this.#withPlace(prefix, false, "mkdir", async (place) => {
        if (place.name === undefined) return;
        const entry = place.dir.entry(place.name);
        const stats = await lstat(entry).catch(() => undefined);
        if (stats?.isSymbolicLink()) return;
        if (stats) {
          if (!stats.isDirectory()) throw new TreeError("mkdir", prefix, "ENOTDIR");
          return;
        }
        if (place.dir.origin.readonly) throw new TreeError("mkdir", prefix, "EROFS");
        await mkdir(entry, IMPLIED_DIRECTORY_MODE).catch((error: unknown) => fail(error, "mkdir", prefix));
        await lchown(entry, 0, 0).catch((error: unknown) => fail(error, "lchown", prefix));
      });
    }
  }

  async #withPlace(path: string, follow: boolean, op: string, action: (place: Place) => Promise<unknown>): Promise<void> {
    const place = await this.root.locate(path, { follow, op, shown: path });
    try {
      await action(place);
    } finally {
      await place.dir.release();
    }
  }

  /** os.RemoveAll of an entry; refused over a mount point (dockerd's kernel says busy). */
  async #remove(place: Place): Promise<void> {
    if (place.mountpoint || place.name === undefined || this.root.hasMountsUnder(place.path)) throw new TreeError("unlinkat", place.path, "EBUSY");
    if (place.dir.origin.readonly) throw new TreeError("unlinkat", place.path, "EROFS");
    await removeEntry(place.dir, place.name, place.path);
  }
}

/** What Go's archive/tar says of an archive the parser refused. */
function goTarError(message: string): string {
  if (message.endsWith("unexpected end of data")) return "unexpected EOF";
  if (message.includes("is not a valid tar archive")) return "archive/tar: invalid tar header";
  return message;
}

function fail(error: unknown, op: string, path: string): never {
  throw treeError(error, op, path);
}

/** Runs action on an entry's inode through an O_PATH descriptor (`/proc/self/fd/N`), or says it is a symbolic link. */
async function onInode(entry: string, path: string, action: (inode: string, isLink: boolean) => Promise<unknown>): Promise<void> {
  const handle = await open(entry, O_PATH | constants.O_NOFOLLOW).catch((error: unknown) => fail(error, "open", path));
  try {
    const stats = await handle.stat();
    await action(`/proc/self/fd/${handle.fd}`, (stats.mode & S_IFMT) === S_IFLNK);
  } catch (error) {
    fail(error, "chmod", path);
  } finally {
    await handle.close();
  }
}

/** Times of a place (a directory's, at the end): a link's own, anything else's through its inode. */
async function setTimes(place: Place, atime: number, mtime: number, path: string): Promise<void> {
  if (place.name === undefined) {
    await utimes(place.dir.self, atime, mtime).catch((error: unknown) => fail(error, "chtimes", path));
    return;
  }
  const entry = place.dir.entry(place.name);
  await onInode(entry, path, (inode, isLink) => (isLink ? lutimes(entry, atime, mtime) : utimes(inode, atime, mtime)));
}

/** Removes an entry and, for a directory, everything in it, never following a link. */
async function removeEntry(dir: Dir, name: string, path: string): Promise<void> {
  const entry = dir.entry(name);
  const stats = await lstat(entry).catch((error: unknown) => fail(error, "unlinkat", path));
  if (!stats.isDirectory()) {
    await unlink(entry).catch((error: unknown) => fail(error, "unlinkat", path));
    return;
  }
  const handle = await open(entry, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch((error: unknown) => fail(error, "open", path));
  const inner = new Dir(handle, path, dir.origin);
  try {
    for (const child of await readdir(inner.self)) await removeEntry(inner, child, `${path}/${child}`);
  } finally {
    await inner.release();
  }
  await rmdir(entry).catch((error: unknown) => fail(error, "unlinkat", path));
}

/** A device or FIFO: Node has no mknod, so coreutils' makes it, on the held directory's entry. */
async function makeNode(dir: Dir, name: string, header: TarHeader): Promise<void> {
  const kind = header.type === "3" ? "c" : header.type === "4" ? "b" : "p";
  const numbers = kind === "p" ? [] : [String(header.devmajor), String(header.devminor)];
  const target = `/proc/${process.pid}/fd/${dir.handle.fd}/${name}`;
  await execFileAsync("mknod", ["-m", (header.mode & 0o7777).toString(8), "--", target, kind, ...numbers], { timeout: 10_000 });
}
