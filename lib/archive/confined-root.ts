/**
 * A directory tree opened as a root, with paths inside it resolved the way the
 * kernel resolves them for a process chrooted there: symbolic links are
 * followed, absolute ones from the root, and `..` stops at the root. The walk
 * is done here, one component at a time, from directories held open: every
 * system call names a single entry of a held directory
 * (`/proc/self/fd/N/name`), whose last component the call never follows
 * unless asked, so nothing the tree holds, or changes while it is used, can
 * lead a call outside it.
 *
 * Mount points (a container's volumes and bind mounts) are laid over the tree
 * as the kernel lays them: entering one of their paths enters their source.
 */
import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import { lstat, open, readdir, readlink, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";

/** Linux's O_PATH: a handle on an inode that opens nothing (the same value on every architecture Node runs containers on). */
export const O_PATH = 0o10000000;
/** Linux's MAXSYMLINKS. */
const MAX_SYMLINK_HOPS = 40;

/** A failed system call, as Go's os.PathError reports it: the operation, the path inside the root, the errno's code. */
export class TreeError extends Error {
  constructor(
    readonly op: string,
    readonly path: string,
    readonly code: string,
  ) {
    super(`${op} ${path}: ${code}`);
    this.name = "TreeError";
  }
}

/** The code of a failed Node fs call (EIO when it has none). */
export function errnoOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : "EIO";
}

/** A failed fs call as a TreeError naming what was asked. */
export function treeError(error: unknown, op: string, path: string): Error {
  if (error instanceof TreeError || !(error as NodeJS.ErrnoException | undefined)?.code) return error as Error;
  return new TreeError(op, path, errnoOf(error));
}

/** Something mounted over a path of the tree. */
export interface MountPoint {
  /** Where it is mounted, absolute inside the root. */
  path: string;
  /** What is mounted there: a directory or a file of the host. */
  source: string;
  readonly: boolean;
}

/** Which file system a directory belongs to: the tree itself (0) or one of its mounts. */
export interface Origin {
  id: number;
  readonly: boolean;
}

/** A directory of the tree, held open. */
export class Dir {
  constructor(
    readonly handle: FileHandle,
    /** Where it is inside the root, symbolic links resolved. */
    readonly path: string,
    readonly origin: Origin,
    readonly held: boolean = true,
  ) {}

  /** A path naming `name` in this directory and nowhere else. */
  entry(name: string): string {
    return `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  /** The directory itself, as a path (system calls that take no descriptor). */
  get self(): string {
    return `/proc/self/fd/${this.handle.fd}`;
  }

  async release(): Promise<void> {
    if (this.held) await this.handle.close().catch(() => {});
  }
}

/** Where a path leads: an entry of a directory, or a directory itself (name undefined). */
export interface Place {
  dir: Dir;
  name?: string;
  /** Inside the root, symbolic links resolved (all but a last one not followed). */
  path: string;
  /** A mount point: it cannot be removed or replaced. */
  mountpoint?: boolean;
}

/** Child path inside the root. */
export const childPath = (parent: string, name: string): string => (parent === "/" ? `/${name}` : `${parent}/${name}`);

/**
 * A path's components for a walk: empty and "." ones dropped, except that a
 * trailing "/" or "/." leaves a final "." (the entry before it must then be a
 * directory and is followed, as the kernel does for `lstat("link/")`).
 */
export function walkComponents(path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "" && part !== ".");
  if (/(^|\/)\.?$/.test(path) && parts.length > 0) parts.push(".");
  return parts;
}

export interface WalkOptions {
  /** Follow a symbolic link in last place (stat), or leave it (lstat). */
  follow: boolean;
  /** For errors: the operation and the path as the client named it. */
  op: string;
  shown: string;
}

export class ConfinedRoot {
  readonly #root: Dir;
  readonly #mounts: Map<string, { mount: MountPoint; origin: Origin }>;

  private constructor(root: Dir, mounts: readonly MountPoint[]) {
    this.#root = root;
    this.#mounts = new Map(mounts.map((mount, index) => [mount.path, { mount, origin: { id: index + 1, readonly: mount.readonly } }]));
  }

  /** Opens hostPath (a path the daemon trusts) as the root, with mounts laid over it. */
  static async open(hostPath: string, mounts: readonly MountPoint[] = []): Promise<ConfinedRoot> {
    const handle = await open(hostPath, constants.O_RDONLY | constants.O_DIRECTORY);
    return new ConfinedRoot(new Dir(handle, "/", { id: 0, readonly: false }, false), mounts);
  }

  async close(): Promise<void> {
    await this.#root.handle.close().catch(() => {});
  }

  /** The names of mounts directly under a directory of the tree (they show there even when the tree has no such entry). */
  #mountNamesUnder(path: string): string[] {
    return [...this.#mounts.keys()].filter((mounted) => mounted !== "/" && dirname(mounted) === path).map((mounted) => basename(mounted));
  }

  /** Walks a path from the root (a relative one as if absolute). The caller releases the place's dir. */
  async locate(path: string, options: WalkOptions): Promise<Place> {
    // The kernel refuses a NUL in a path (Node would throw before asking it).
    if (path.includes("\0")) throw new TreeError(options.op, options.shown, "EINVAL");
    return this.#walk([this.#root], walkComponents(path), options);
  }

  async #walk(start: Dir[], queue: string[], options: WalkOptions): Promise<Place> {
    const stack = [...start];
    let hops = 0;
    let place: Place | undefined;
    const fail = (code: string) => new TreeError(options.op, options.shown, code);
    try {
      while (queue.length > 0) {
        const part = queue.shift()!;
        const top = stack.at(-1)!;
        if (part === ".") continue;
        if (part === "..") {
          if (stack.length > 1) await stack.pop()!.release();
          continue;
        }
        const last = queue.length === 0;
        const path = childPath(top.path, part);
        const mounted = this.#mounts.get(path);
        if (mounted) {
          const entered = await this.#enterMount(mounted.mount, mounted.origin, path, options);
          if (entered.name === undefined) {
            stack.push(entered.dir);
            if (last) return (place = { dir: entered.dir, path, mountpoint: true });
            continue;
          }
          if (!last) {
            await entered.dir.release();
            throw fail("ENOTDIR");
          }
          return (place = entered);
        }
        if (last && !options.follow) return (place = { dir: top, name: part, path });
        const stats = await lstat(top.entry(part)).catch((error: unknown) => {
          throw treeError(error, options.op, options.shown);
        });
        if (stats.isSymbolicLink()) {
          if (++hops > MAX_SYMLINK_HOPS) throw fail("ELOOP");
          const target = await readlink(top.entry(part));
          if (target === "") throw fail("ENOENT");
          if (target.startsWith("/")) while (stack.length > 1) await stack.pop()!.release();
          queue.unshift(...walkComponents(target));
          continue;
        }
        if (stats.isDirectory()) {
          stack.push(await this.openDir(top, part, options));
          continue;
        }
        if (!last) throw fail("ENOTDIR");
        return (place = { dir: top, name: part, path });
      }
      const top = stack.at(-1)!;
      return (place = { dir: top, path: top.path, mountpoint: top.origin.id !== 0 && this.#mounts.has(top.path) });
    } finally {
      for (const dir of stack) if (dir !== place?.dir) await dir.release();
    }
  }

  /** A mount's source: a directory to enter, or a file (the entry `name` of its host directory). */
  async #enterMount(mount: MountPoint, origin: Origin, path: string, options: WalkOptions): Promise<Place> {
    const source = await stat(mount.source).catch((error: unknown) => {
      throw treeError(error, options.op, options.shown);
    });
    if (source.isDirectory()) {
      const handle = await open(mount.source, constants.O_RDONLY | constants.O_DIRECTORY);
      return { dir: new Dir(handle, path, origin), path, mountpoint: true };
    }
    const handle = await open(dirname(mount.source), constants.O_RDONLY | constants.O_DIRECTORY);
    return { dir: new Dir(handle, dirname(path), origin), name: basename(mount.source), path, mountpoint: true };
  }

  /** An entry of a directory, not followed: the entry itself, or what is mounted there. The caller releases a place in another dir. */
  async child(dir: Dir, name: string, options: Pick<WalkOptions, "op" | "shown">): Promise<Place> {
    const path = childPath(dir.path, name);
    const mounted = this.#mounts.get(path);
    if (mounted) return this.#enterMount(mounted.mount, mounted.origin, path, { ...options, follow: false });
    return { dir, name, path };
  }

  /** A place known to be a directory, opened (the caller releases it). */
  async enter(place: Place, options: Pick<WalkOptions, "op" | "shown">): Promise<Dir> {
    return place.name === undefined ? place.dir : this.openDir(place.dir, place.name, options);
  }

  /** An entry of dir known to be a directory, opened (never through a symbolic link put there since). */
  async openDir(dir: Dir, name: string, options: Pick<WalkOptions, "op" | "shown">): Promise<Dir> {
    const path = childPath(dir.path, name);
    const mounted = this.#mounts.get(path);
    if (mounted) {
      const entered = await this.#enterMount(mounted.mount, mounted.origin, path, { ...options, follow: true });
      if (entered.name === undefined) return entered.dir;
      await entered.dir.release();
      throw new TreeError(options.op, options.shown, "ENOTDIR");
    }
    try {
      const handle = await open(dir.entry(name), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      return new Dir(handle, path, dir.origin);
    } catch (error) {
      throw treeError(error, options.op, options.shown);
    }
  }

  /** The place's own metadata (a symbolic link's, not its target's). */
  async lstat(place: Place): Promise<BigIntStats> {
    return place.name === undefined ? place.dir.handle.stat({ bigint: true }) : lstat(place.dir.entry(place.name), { bigint: true });
  }

  /** The entries of a directory: what it holds, and the mounts laid over it. */
  async names(dir: Dir): Promise<string[]> {
    const held = await readdir(dir.self);
    const mounted = this.#mountNamesUnder(dir.path).filter((name) => !held.includes(name));
    return [...held, ...mounted];
  }

  /** A small file of the tree (a container's /etc/passwd), read whole up to limit bytes; undefined when it does not exist. */
  async readFile(path: string, limit: number): Promise<string | undefined> {
    let place: Place;
    try {
      place = await this.locate(path, { follow: true, op: "open", shown: path });
    } catch (error) {
      if (error instanceof TreeError && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
      throw error;
    }
    try {
      if (place.name === undefined) return undefined;
      const handle = await open(place.dir.entry(place.name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        const buffer = Buffer.alloc(limit);
        const { bytesRead } = await handle.read(buffer, 0, limit, 0);
        return buffer.subarray(0, bytesRead).toString("utf8");
      } finally {
        await handle.close();
      }
    } finally {
      await place.dir.release();
    }
  }

  /** Something is mounted at path or below it (the entry cannot be removed). */
  hasMountsUnder(path: string): boolean {
    return [...this.#mounts.keys()].some((mounted) => mounted === path || mounted.startsWith(path === "/" ? "/" : `${path}/`));
  }
}
