/**
 * What dockerd tells about a path before a copy: the entry itself (a symbolic
 * link's own metadata), and for a link, where it finally leads inside the
 * root, resolved as far as it exists.
 */
import { readlink } from "node:fs/promises";
import { goBase, goClean } from "./go-paths.ts";
import { errnoOf, TreeError, treeError, type ConfinedRoot } from "./confined-root.ts";

export interface PathMetadata {
  /** The last element of the path as asked (filepath.Base). */
  name: string;
  size: number;
  /** st_mode: file type and permission bits. */
  mode: number;
  /** Modification time, nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** For a symbolic link, its final target inside the root; "" otherwise. */
  linkTarget: string;
}

/** Iterations of a symbolic link walk before it is called a loop (moby/sys/symlink's limit). */
const MAX_SCOPE_ITERATIONS = 255;

/** os.Lstat of a path inside the root, plus the resolved target of a link: what dockerd's container filesystem view answers. */
export async function statPath(root: ConfinedRoot, path: string): Promise<PathMetadata> {
  const place = await root.locate(path, { follow: false, op: "lstat", shown: path });
  try {
    const stats = await root.lstat(place).catch((error: unknown) => {
      throw treeError(error, "lstat", path);
    });
    const isLink = (Number(stats.mode) & 0o170000) === 0o120000;
    return {
      name: goBase(path),
      size: Number(stats.size),
      mode: Number(stats.mode),
      mtimeNs: stats.mtimeNs,
      linkTarget: isLink ? await followSymlinkInScope(root, path) : "",
    };
  } finally {
    await place.dir.release();
  }
}

/**
 * moby/sys/symlink's FollowSymlinkInScope with the root as scope: each
 * element expanded when it is a link (an absolute target restarts from the
 * root), `..` taken lexically, elements that do not exist kept as they are.
 */
export async function followSymlinkInScope(root: ConfinedRoot, path: string): Promise<string> {
  let rest = goClean(`/${path}`);
  let resolved = "";
  for (let iteration = 0; rest !== ""; iteration++) {
    if (iteration > MAX_SCOPE_ITERATIONS) throw new Error(`evalSymlinksInScope: too many links in ${goClean(`/${path}`)}`);
    const slash = rest.indexOf("/");
    const part = slash === -1 ? rest : rest.slice(0, slash);
    rest = slash === -1 ? "" : rest.slice(slash + 1);
    if (part === "") continue;
    const candidate = goClean(`/${resolved}${part}`);
    if (candidate === "/") {
      resolved = "";
      continue;
    }
    const target = await linkAt(root, candidate);
    if (target === undefined) {
      resolved += `${part}/`;
      continue;
    }
    if (target.startsWith("/")) resolved = "";
    rest = `${target}/${rest}`;
  }
  return goClean(`/${resolved}`);
}

/** The target when the path is a symbolic link; undefined when it is something else or does not exist. */
async function linkAt(root: ConfinedRoot, path: string): Promise<string | undefined> {
  let place;
  try {
    place = await root.locate(path, { follow: false, op: "lstat", shown: path });
  } catch (error) {
    if (error instanceof TreeError && error.code === "ENOENT") return undefined;
    throw error;
  }
  try {
    if (place.name === undefined) return undefined;
    const stats = await root.lstat(place).catch((error: unknown) => {
      if (errnoOf(error) === "ENOENT") return undefined;
      throw treeError(error, "lstat", path);
    });
    if (!stats || (Number(stats.mode) & 0o170000) !== 0o120000) return undefined;
    return await readlink(place.dir.entry(place.name));
  } finally {
    await place.dir.release();
  }
}
