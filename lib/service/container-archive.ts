/**
 * HEAD, GET and PUT /containers/{id}/archive: a path of a container's
 * filesystem stat'ed, archived or extracted into, as dockerd does it in its
 * view of the container (the root filesystem with the volumes and bind mounts
 * over it, whatever the container's state).
 *
 * `nerdctl cp` is not used: it runs the host's tar in the container's
 * directories, which follows the container's symbolic links on the host, and
 * reads a tar only from its own stdin. Here the daemon walks the container's
 * root itself, confined to it (lib/archive/confined-root.ts): the root the
 * container's task has mounted, or for a container without a task its
 * snapshot, mounted where only the daemon sees it.
 */
import { Readable } from "node:stream";
import { ConfinedRoot, TreeError, type MountPoint } from "../archive/confined-root.ts";
import { decompressed } from "../archive/decompress.ts";
import { goClean, goJoin, goRel, preserveTrailingDotOrSeparator } from "../archive/go-paths.ts";
import { statPath, type PathMetadata } from "../archive/path-stat.ts";
import { archivePath } from "../archive/tree-archive.ts";
import { unpackInto, UnpackError } from "../archive/tree-extract.ts";
import {
  emptyPathError,
  EXTRACTION_POINT_NOT_DIRECTORY,
  fileNotFound,
  passwdOwner,
  pathErrorMessage,
  READ_ONLY_ROOTFS,
  READ_ONLY_VOLUME,
  goFileMode,
  goTimeUTC,
  type ContainerPathStat,
} from "../docker/container-archive.ts";
import { ApiError, badParameter, systemError } from "../errors.ts";
import { drainIterator } from "../io/readable.ts";
import { taskRootfs } from "../host/task-rootfs.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { mountSnapshot } from "../nerdctl/snapshot-mount.ts";
import { findContainer } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
/** What of a refused body is read before the answer (Go's http server reads this much). */
const REFUSED_BODY_READ = 256 * 1024;
/** The most of a container's /etc/passwd read to find its user. */
const PASSWD_LIMIT = 1024 * 1024;

interface ContainerFilesystem {
  container: NerdctlContainerInspect;
  root: ConfinedRoot;
  release(): Promise<void>;
}

/** The container's volumes and bind mounts, as mounts over its root (tmpfs mounts have nothing to show outside it). */
function mountPoints(container: NerdctlContainerInspect): MountPoint[] {
  return (container.Mounts ?? [])
    .filter((mount) => mount.Type !== "tmpfs" && mount.Source !== "" && mount.Destination.startsWith("/"))
    .map((mount) => ({ path: goClean(mount.Destination), source: mount.Source, readonly: !mount.RW }));
}

/** The container's filesystem, opened: its task's root, or its snapshot mounted for the time of the call. */
async function openContainer(scope: Scope, ref: string, signal?: AbortSignal): Promise<ContainerFilesystem> {
  const container = await findContainer(scope, ref);
  const mounts = mountPoints(container);
  const rootfs = await taskRootfs(container.Id);
  if (rootfs) {
    const root = await ConfinedRoot.open(rootfs, mounts);
    return { container, root, release: () => root.close() };
  }
  const snapshot = await mountSnapshot(scope.nerdctl, { namespace: scope.namespace, snapshotter: container.Driver, key: container.Id }, signal);
  try {
    const root = await ConfinedRoot.open(snapshot.path, mounts);
    return {
      container,
      root,
      release: async () => {
        await root.close();
        await snapshot.release();
      },
    };
  } catch (error) {
    await snapshot.release();
    throw error;
  }
}

/** A path's metadata as Docker's types.ContainerPathStat. */
function toPathStat(metadata: PathMetadata): ContainerPathStat {
  const { name, size, mode, mtimeNs, linkTarget } = metadata;
  return { name, size, mode: goFileMode(mode), mtime: goTimeUTC(mtimeNs), linkTarget };
}

/** Errnos that say the client's path can name no file (a NUL in it, a name over 255 bytes): a bad parameter, not the daemon's failure. */
const PATH_REFUSED = new Set(["EINVAL", "ENAMETOOLONG"]);

/**
 * What went wrong in the container's filesystem, as dockerd words it: a missing path is a 404 naming the path asked for,
 * a path that can name no file a 400.
 */
function asApiError(error: unknown, path: string, ref: string): unknown {
  if (error instanceof ApiError) return error;
  if (error instanceof TreeError) {
    if (error.code === "ENOENT") return fileNotFound(path, ref);
    const message = pathErrorMessage(error.op, error.path, error.code);
    return PATH_REFUSED.has(error.code) ? badParameter(message) : systemError(message);
  }
  if (error instanceof UnpackError) return systemError(error.message);
  return error;
}

async function withContainer<T>(scope: Scope, ref: string, path: string, work: (filesystem: ContainerFilesystem) => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (path === "") throw emptyPathError();
  const filesystem = await openContainer(scope, ref, signal);
  try {
    return await work(filesystem);
  } catch (error) {
    throw asApiError(error, path, ref);
  } finally {
    await filesystem.release();
  }
}

/** HEAD /containers/{id}/archive: the path's own stat (a link's, with where it leads). */
export async function containerPathStat(scope: Scope, ref: string, path: string): Promise<ContainerPathStat> {
  return withContainer(scope, ref, path, async ({ root }) => toPathStat(await statPath(root, path)));
}

export interface ContainerArchive {
  stat: ContainerPathStat;
  /** The tar, read from the container as it is consumed. */
  tar: Readable;
  stop(): void;
}

/** GET /containers/{id}/archive: the path's stat and a tar of it, streamed; the container's filesystem stays open until the tar ends or stops. */
export async function containerArchive(scope: Scope, ref: string, path: string, signal?: AbortSignal): Promise<ContainerArchive> {
  if (path === "") throw emptyPathError();
  const absPath = preserveTrailingDotOrSeparator(goJoin("/", path), path);
  const filesystem = await openContainer(scope, ref, signal);
  let metadata;
  try {
    metadata = await statPath(filesystem.root, absPath);
  } catch (error) {
    await filesystem.release();
    throw asApiError(error, path, ref);
  }
  const isDir = (metadata.mode & S_IFMT) === S_IFDIR;
  const tar = Readable.from(archiveThenRelease(filesystem, absPath, isDir), { objectMode: false, highWaterMark: 1024 * 1024 });
  scope.events.emit({ type: "container", action: "archive-path", container: ref });
  return { stat: toPathStat(metadata), tar, stop: () => tar.destroy() };
}

async function* archiveThenRelease(filesystem: ContainerFilesystem, absPath: string, isDir: boolean): AsyncGenerator<Buffer> {
  try {
    yield* archivePath(filesystem.root, absPath, isDir);
  } finally {
    await filesystem.release();
  }
}

export interface ExtractOptions {
  noOverwriteDirNonDir: boolean;
  /** Everything owned by the container's user (docker cp -a) rather than as the archive says. */
  copyUIDGID: boolean;
}

/** filepath.Rel-based check dockerd makes: the path is the mount's destination or below it. */
const isUnder = (destination: string, path: string) => {
  const rel = goRel(goClean(destination), goClean(path));
  return rel !== ".." && !rel.startsWith("../");
};

/** PUT /containers/{id}/archive: the tar in body unpacked into the directory at path. */
export async function extractToContainer(scope: Scope, ref: string, path: string, options: ExtractOptions, body: Readable, signal?: AbortSignal): Promise<void> {
  const source = (body as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  try {
    await withContainer(scope, ref, path, (filesystem) => extractInto(filesystem, path, options, source), signal);
  } catch (error) {
    // dockerd's server reads up to 256 KiB of a refused body before it answers, so a small upload ends
    // cleanly on the client's side; the rest of a larger one is read and dropped after the answer.
    if (!body.destroyed && !body.readableEnded && !(await drainIterator(source, REFUSED_BODY_READ))) void drainIterator(source);
    throw error;
  }
  scope.events.emit({ type: "container", action: "extract-to-dir", container: ref });
}

/*
 * dockerd refuses an extraction point that is not a directory, a read-only
 * root filesystem and a read-only volume as invalid parameters, then wraps
 * every error but a missing file as a system error: the client gets a 500.
 */
async function extractInto({ container, root }: ContainerFilesystem, path: string, options: ExtractOptions, source: AsyncIterator<Buffer | string>): Promise<void> {
  // Every element followed, the last one too: a link to a directory is extracted into.
  const joined = goJoin("/", path);
  const resolved = await root.locate(joined, { follow: true, op: "lstat", shown: joined });
  await resolved.dir.release();
  const absPath = preserveTrailingDotOrSeparator(resolved.path, path);
  const target = await root.locate(absPath, { follow: false, op: "lstat", shown: absPath });
  try {
    const stats = await root.lstat(target);
    if ((Number(stats.mode) & S_IFMT) !== S_IFDIR) throw systemError(EXTRACTION_POINT_NOT_DIRECTORY);
  } finally {
    await target.dir.release();
  }
  const volume = (container.Mounts ?? []).find((mount) => isUnder(mount.Destination, absPath));
  if (volume && !volume.RW) throw systemError(READ_ONLY_VOLUME);
  if (!volume && container.HostConfig.ReadonlyRootfs === true) throw systemError(READ_ONLY_ROOTFS);
  const user = container.Config.User;
  const owner = options.copyUIDGID && user ? passwdOwner(await root.readFile("/etc/passwd", PASSWD_LIMIT), user) : undefined;
  await unpackInto(root, absPath, await decompressed(source, "the archive"), { noOverwriteDirNonDir: options.noOverwriteDirNonDir, owner });
}
