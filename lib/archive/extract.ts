/**
 * A build context's tar archive extracted into a directory, one entry at a
 * time, each checked as it arrives: nothing may land outside the directory
 * (`../`, absolute paths, writes through a symbolic link), no symbolic link or
 * hard link may point outside it, and there are no devices. Anything wrong is
 * a 400 in words that name the entry.
 */
import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { chmod, link, lstat, mkdir, open, readlink, symlink, unlink, utimes, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { badParameter } from "../errors.ts";
import type { TarHeader } from "./tar-format.ts";
import { readTar, type TarEvent } from "./tar-reader.ts";

const MAX_SYMLINK_HOPS = 40;

const describe = (value: string) => JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);

/**
 * An entry's path inside the context, as components; refuses absolute paths and
 * any `..`. An empty list is the context's root itself (`./`).
 */
export function entryComponents(raw: string, what = "entry"): string[] {
  if (raw.includes("\0")) throw badParameter(`build context ${what} ${describe(raw)} contains a NUL character`);
  if (raw.startsWith("/")) throw badParameter(`build context ${what} ${describe(raw)} is an absolute path`);
  const parts = raw.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw badParameter(`build context ${what} ${describe(raw)} points outside the context`);
  return parts;
}

/** A symbolic link's target, read lexically from where the link is: refused when absolute or climbing out. */
export function checkSymlinkTarget(linkPath: string[], target: string): void {
  const shown = `${describe(linkPath.join("/"))} -> ${describe(target)}`;
  if (target === "") throw badParameter(`build context symbolic link ${shown} has an empty target`);
  if (target.startsWith("/")) throw badParameter(`build context symbolic link ${shown} points outside the context (absolute target)`);
  let depth = linkPath.length - 1;
  for (const part of target.split("/")) {
    if (part === "..") depth -= 1;
    else if (part !== "" && part !== ".") depth += 1;
    if (depth < 0) throw badParameter(`build context symbolic link ${shown} points outside the context`);
  }
}

export interface ExtractLimits {
  /** Largest tar stream accepted (bytes after decompression). */
  maxBytes: number;
  maxEntries: number;
}

type Kind = "file" | "directory" | "symlink" | "other";

/**
 * A file's mtime in the extracted context: the archive's second, plus a
 * fraction of it taken from the content (1 to 999999 µs). BuildKit syncs a
 * context onto the copy an earlier build left (buildctl gives every build the
 * same key) and keeps each file whose size and mtime match: with the fraction,
 * a file whose content changed is sent again, even in archives written with
 * mtime 0, and an unchanged one is not. Images keep whole seconds (layers are
 * written with them); cache keys do not depend on mtimes.
 */
export function contextFileMtime(archiveMtime: number, content: Hash): number {
  return Math.floor(archiveMtime) + (1 + (content.digest().readUInt32BE(0) % 999_999)) / 1e6;
}

/** Extracts a (decompressed) build context archive into root, an empty directory. */
export async function extractBuildContext(source: AsyncIterable<Buffer>, root: string, limits: ExtractLimits): Promise<void> {
  await new Extractor(root, limits.maxEntries).run(readTar(source, { subject: "the build context", maxBytes: limits.maxBytes }));
}

class Extractor {
  /** Directories known to be real directories (made or checked here): never replaced later. */
  readonly #directories = new Set<string>([""]);
  /** Directory entries, to give them their mode and time once everything is written. */
  readonly #directoryModes = new Map<string, { mode: number; mtime: number }>();
  /** Every symbolic link made (or hard-linked), checked again once the tree is complete. */
  readonly #symlinks = new Set<string>();
  #entries = 0;

  constructor(
    private readonly root: string,
    private readonly maxEntries: number,
  ) {}

  async run(events: AsyncIterable<TarEvent>): Promise<void> {
    let file: { handle: FileHandle; entry: TarHeader; content: Hash } | undefined;
    try {
      for await (const event of events) {
        if (event.kind === "entry") {
          if (++this.#entries > this.maxEntries) throw badParameter(`the build context has more than ${this.maxEntries} entries`);
          const entry = { ...event.header, mode: event.header.mode & 0o7777 };
          file = await this.#entry(entry);
        } else if (event.kind === "data") {
          // Bodies of anything but files (a directory's, a link's) are read and dropped.
          if (!file) continue;
          file.content.update(event.piece);
          for (let written = 0; written < event.piece.length; ) written += (await file.handle.write(event.piece, written)).bytesWritten;
        } else if (file) {
          const { handle, entry, content } = file;
          file = undefined;
          try {
            await handle.chmod(entry.mode);
            const mtime = contextFileMtime(entry.mtime, content);
            await handle.utimes(mtime, mtime);
          } finally {
            await handle.close();
          }
        }
      }
    } finally {
      await file?.handle.close();
    }
    await this.#checkSymlinks();
    await this.#applyDirectoryModes();
  }

  /** Makes what an entry is; a file is opened for its body, which follows. */
  async #entry(entry: TarHeader): Promise<{ handle: FileHandle; entry: TarHeader; content: Hash } | undefined> {
    switch (entry.type) {
      case "0":
      case "\0":
      case "7":
        return { handle: await this.#file(entry), entry, content: createHash("sha256") };
      case "5":
        await this.#directory(entry);
        return undefined;
      case "2":
        await this.#symlink(entry);
        return undefined;
      case "1":
        await this.#hardlink(entry);
        return undefined;
      case "3":
      case "4":
      case "6":
        throw badParameter(`build context entry ${describe(entry.name)} is a device or FIFO, which a build context cannot hold`);
      default:
        throw badParameter(`build context entry ${describe(entry.name)} has an unsupported tar type ${JSON.stringify(entry.type)}`);
    }
  }

  #path(parts: readonly string[]): string {
    return join(this.root, ...parts);
  }

  async #kind(parts: readonly string[]): Promise<Kind | undefined> {
    try {
      const stat = await lstat(this.#path(parts));
      return stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other";
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Makes (or checks) each directory of parts: never through a symbolic link or over a file. */
  async #ensureDirectories(parts: readonly string[], entryName: string, create = true): Promise<void> {
    for (let i = 1; i <= parts.length; i++) {
      const key = parts.slice(0, i).join("/");
      if (this.#directories.has(key)) continue;
      const kind = await this.#kind(parts.slice(0, i));
      if (kind === undefined) {
        if (!create) throw badParameter(`build context entry ${describe(entryName)}: ${describe(key)} does not exist`);
        await mkdir(this.#path(parts.slice(0, i)), { mode: 0o755 });
      } else if (kind === "symlink") {
        throw badParameter(`build context entry ${describe(entryName)} goes through the symbolic link ${describe(key)}`);
      } else if (kind !== "directory") {
        throw badParameter(`build context entry ${describe(entryName)}: ${describe(key)} is not a directory`);
      }
      this.#directories.add(key);
    }
  }

  /** Clears the place of a new non-directory entry (a later entry of the same name replaces an earlier one, as tar does). */
  async #clear(parts: string[], entryName: string): Promise<void> {
    const kind = await this.#kind(parts);
    if (kind === "directory") throw badParameter(`build context entry ${describe(entryName)} would replace a directory`);
    if (kind !== undefined) {
      await unlink(this.#path(parts));
      this.#symlinks.delete(parts.join("/"));
    }
  }

  async #file(entry: TarHeader): Promise<FileHandle> {
    const parts = entryComponents(entry.name);
    if (parts.length === 0) throw badParameter(`build context entry ${describe(entry.name)} is a file at the context's root`);
    await this.#ensureDirectories(parts.slice(0, -1), entry.name);
    await this.#clear(parts, entry.name);
    return open(this.#path(parts), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  }

  async #directory(entry: TarHeader): Promise<void> {
    const parts = entryComponents(entry.name);
    if (parts.length === 0) return;
    await this.#ensureDirectories(parts, entry.name);
    this.#directoryModes.set(parts.join("/"), { mode: entry.mode, mtime: entry.mtime });
  }

  async #symlink(entry: TarHeader): Promise<void> {
    const parts = entryComponents(entry.name);
    if (parts.length === 0) throw badParameter(`build context entry ${describe(entry.name)} is a symbolic link at the context's root`);
    if (entry.linkname.includes("\0")) throw badParameter(`build context symbolic link ${describe(entry.name)} has a NUL in its target`);
    checkSymlinkTarget(parts, entry.linkname);
    await this.#ensureDirectories(parts.slice(0, -1), entry.name);
    await this.#clear(parts, entry.name);
    await symlink(entry.linkname, this.#path(parts));
    this.#symlinks.add(parts.join("/"));
  }

  async #hardlink(entry: TarHeader): Promise<void> {
    const parts = entryComponents(entry.name);
    const target = entryComponents(entry.linkname, "hard link target");
    if (parts.length === 0 || target.length === 0) throw badParameter(`build context hard link ${describe(entry.name)} -> ${describe(entry.linkname)} is invalid`);
    await this.#ensureDirectories(target.slice(0, -1), entry.linkname, false);
    const kind = await this.#kind(target);
    if (kind === undefined) throw badParameter(`build context hard link ${describe(entry.name)} points to ${describe(entry.linkname)}, which is not in the context before it`);
    if (kind === "directory") throw badParameter(`build context hard link ${describe(entry.name)} points to the directory ${describe(entry.linkname)}`);
    await this.#ensureDirectories(parts.slice(0, -1), entry.name);
    if (parts.join("/") === target.join("/")) return;
    await this.#clear(parts, entry.name);
    await link(this.#path(target), this.#path(parts));
    // A hard link to a symbolic link is that link again, somewhere else: its target now reads from there.
    if (kind === "symlink") this.#symlinks.add(parts.join("/"));
  }

  /**
   * Each symbolic link resolved as the kernel would within the finished tree
   * (links through links, `..` after a link): none may end outside the context.
   */
  async #checkSymlinks(): Promise<void> {
    for (const key of this.#symlinks) {
      const parts = key.split("/");
      if ((await this.#kind(parts)) !== "symlink") continue;
      const escape = await this.#resolvesOutside(parts.slice(0, -1), await readlink(this.#path(parts)), { hops: 0 });
      if (escape) throw badParameter(`build context symbolic link ${describe(key)} ${escape}`);
    }
  }

  async #resolvesOutside(stack: string[], target: string, state: { hops: number }): Promise<string | undefined> {
    if (target.startsWith("/")) return "points outside the context (absolute target)";
    for (const part of target.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (stack.length === 0) return "points outside the context";
        stack.pop();
        continue;
      }
      stack.push(part);
      if ((await this.#kind(stack)) !== "symlink") continue;
      if (++state.hops > MAX_SYMLINK_HOPS) return "is part of a loop of symbolic links";
      const next = await readlink(this.#path(stack));
      stack.pop();
      const escape = await this.#resolvesOutside(stack, next, state);
      if (escape) return escape;
    }
    return undefined;
  }

  /** Directory modes last (a read-only directory would refuse its own entries); the owner keeps rwx, so cleanup works. */
  async #applyDirectoryModes(): Promise<void> {
    const deepestFirst = [...this.#directoryModes].sort(([a], [b]) => b.split("/").length - a.split("/").length);
    for (const [key, { mode, mtime }] of deepestFirst) {
      const path = this.#path(key.split("/"));
      await chmod(path, mode | 0o700);
      await utimes(path, mtime, mtime);
    }
  }
}
