/**
 * A container's root filesystem when it has no task to hold it mounted
 * (created, or its task deleted): its snapshot, mounted as containerd says
 * (`ctr snapshots mounts`), in a mount namespace of its own. A `cat` reading
 * the daemon's pipe holds that namespace: when the copy is done, or the daemon
 * dies, its input ends, it exits, and the namespace and the mount go with it,
 * leaving nothing mounted anywhere. The daemon reaches the mount through the
 * holder's /proc/<pid>/root.
 */
import { mkdtemp, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { systemError } from "../errors.ts";
import { readLines } from "../io/lines.ts";
import type { RunningCommand } from "../runner/types.ts";
import type { Nerdctl } from "./client.ts";

/** Longest mount options string passed whole: the kernel takes one page. */
const MAX_MOUNT_OPTIONS = 4000;

export interface SnapshotRef {
  /** containerd namespace; undefined leaves it to ctr (CONTAINERD_NAMESPACE, then "default"). */
  namespace?: string;
  snapshotter: string;
  /** The snapshot's key: nerdctl names a container's snapshot by the container's id. */
  key: string;
}

/** One mount(8) call as ctr prints it. */
export interface MountSpec {
  type: string;
  source: string;
  target: string;
  options: string;
}

export interface MountedSnapshot {
  /** The mounted root, as a path this process can open. */
  path: string;
  /** Ends the holder (and with it the mount) and removes the mount point. */
  release(): Promise<void>;
}

/** `ctr snapshots mounts`'s argv: what mounting the snapshot at target would take. */
export function snapshotMountsArgs(ref: SnapshotRef, target: string): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref.snapshotter)) throw systemError(`invalid snapshotter name ${JSON.stringify(ref.snapshotter)}`);
  if (!/^[0-9a-f]{64}$/.test(ref.key)) throw systemError(`invalid snapshot key ${JSON.stringify(ref.key)}`);
  return [...(ref.namespace ? [`--namespace=${ref.namespace}`] : []), "snapshots", `--snapshotter=${ref.snapshotter}`, "mounts", target, ref.key];
}

/** ctr's "mount -t TYPE SOURCE TARGET -o OPTIONS" lines, each checked to mount at or under target. */
export function parseMountCommands(stdout: string, target: string): MountSpec[] {
  const specs: MountSpec[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    const match = /^mount -t (\S+) (\S+) (\S+) -o (\S+)$/.exec(line.trim());
    if (!match) throw systemError(`unexpected mount description from containerd: ${JSON.stringify(line.slice(0, 200))}`);
    const [, type, source, at, options] = match as unknown as [string, string, string, string, string];
    if (at !== target && !at.startsWith(`${target}/`)) throw systemError(`containerd described a mount outside ${target}: ${at}`);
    specs.push({ type, source, target: at, options });
  }
  if (specs.length === 0) throw systemError("containerd described no mount for the container's snapshot");
  return specs;
}

/** The common directory of paths, at a component boundary ("/" when they share none). */
function commonDirectory(paths: string[]): string {
  const split = paths.map((path) => posix.dirname(path).split("/"));
  const first = split[0]!;
  let length = first.length;
  for (const parts of split) {
    let same = 0;
    while (same < length && same < parts.length && parts[same] === first[same]) same++;
    length = same;
  }
  return first.slice(0, length).join("/") || "/";
}

/**
 * nsenter's argv mounting spec in the holder's namespace. Options too long
 * for the kernel's page get their lower directories relative to a working
 * directory they share, as containerd itself mounts them.
 */
export function mountArgs(holderPid: number, spec: MountSpec): string[] {
  let options = spec.options;
  let workdir: string | undefined;
  if (options.length > MAX_MOUNT_OPTIONS) {
    const parts = options.split(",");
    const lower = parts.findIndex((part) => part.startsWith("lowerdir="));
    const dirs = lower === -1 ? [] : parts[lower]!.slice("lowerdir=".length).split(":");
    if (dirs.length > 1) {
      workdir = commonDirectory(dirs);
      const prefix = workdir === "/" ? "/" : `${workdir}/`;
      parts[lower] = `lowerdir=${dirs.map((dir) => (dir.startsWith(prefix) ? dir.slice(prefix.length) : dir)).join(":")}`;
      options = parts.join(",");
    }
  }
  return [`--target=${holderPid}`, "--mount", ...(workdir ? [`--wd=${workdir}`] : []), "--", "mount", "-t", spec.type, "-o", options, spec.source, spec.target];
}

/** The holder: a cat in a new private mount namespace, which first prints its own pid (/proc/self/stat). */
export const HOLDER_ARGS = ["--mount", "--propagation", "private", "--", "cat", "/proc/self/stat", "-"];

async function holderPid(holder: RunningCommand): Promise<number> {
  for await (const line of readLines(holder.stdout)) {
    const pid = Number(line.split(" ")[0]);
    if (Number.isInteger(pid) && pid > 0) return pid;
    break;
  }
  const result = await holder.exited;
  throw systemError(`could not make a private mount namespace: ${result.stderr.trim() || `unshare exited with ${result.exitCode}`}`);
}

/** Mounts a container's snapshot where only this process reaches it. */
export async function mountSnapshot(nerdctl: Nerdctl, ref: SnapshotRef, signal?: AbortSignal): Promise<MountedSnapshot> {
  const target = await mkdtemp(join(tmpdir(), "nerdctld-archive-"));
  let holder: RunningCommand | undefined;
  const release = async () => {
    if (holder) {
      holder.stdin.end();
      const ended = await Promise.race([holder.exited.then(() => true), new Promise<false>((resolve) => setTimeout(resolve, 5000, false).unref())]);
      if (!ended) holder.kill();
    }
    await rmdir(target).catch(() => {});
  };
  try {
    const described = await nerdctl.runner.run(nerdctl.command(snapshotMountsArgs(ref, target), "ctr"), { signal });
    if (described.exitCode !== 0) {
      const reason = described.exitCode === 127 ? "ctr (containerd's client) is not installed" : (described.stderr.trim().split("\n").at(-1) ?? "");
      throw systemError(`reading the container's snapshot mounts: ${reason || `ctr exited with ${described.exitCode}`}`);
    }
    const specs = parseMountCommands(described.stdout, target);
    holder = nerdctl.runner.spawn(nerdctl.command(HOLDER_ARGS, "unshare"), { signal });
    const pid = await holderPid(holder);
    for (const spec of specs) {
      const mounted = await nerdctl.runner.run(nerdctl.command(mountArgs(pid, spec), "nsenter"), { signal });
      if (mounted.exitCode !== 0) throw systemError(`mounting the container's snapshot: ${mounted.stderr.trim()}`);
    }
    return { path: `/proc/${pid}/root${target}`, release };
  } catch (error) {
    await release();
    throw error;
  }
}
