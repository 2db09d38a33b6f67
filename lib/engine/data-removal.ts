/**
 * Removing an engine's state and data dirs for good: what is still mounted
 * below them first, and the host bridges its networks left behind.
 */
import { realpathSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { daemonSpecs, isLayoutDaemon } from "./daemons.ts";
import type { EngineLayout } from "./layout.ts";
import { readPidFile } from "./processes.ts";
import { CTR_TIMEOUT_MS } from "./tasks.ts";

/** Undoes mountinfo's octal escapes (\040 for a space, …). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Mount points at or below any of dirs in a /proc/<pid>/mountinfo text, deepest
 * first (and, on one mount point, the last mounted first).
 */
export function mountPointsUnder(mountinfo: string, dirs: string[]): string[] {
  const roots = dirs.map((dir) => dir.replace(/\/+$/, "") || "/");
  const found = mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((field): field is string => field !== undefined)
    .map(unescapeMountPath)
    .filter((mountPoint) => roots.some((root) => mountPoint === root || mountPoint.startsWith(`${root}/`)));
  const depth = (path: string) => path.split("/").length;
  return found
    .map((mountPoint, index) => ({ mountPoint, index }))
    .sort((a, b) => depth(b.mountPoint) - depth(a.mountPoint) || b.index - a.index)
    .map(({ mountPoint }) => mountPoint);
}

/** The dir as given and, when it exists and differs, its real path (mountinfo shows that one). */
function pathVariants(dir: string): string[] {
  const absolute = resolve(dir);
  try {
    const real = realpathSync(absolute);
    return real === absolute ? [absolute] : [absolute, real];
  } catch {
    return [absolute];
  }
}

/** Unmounts everything at or below dirs: twice normally, then lazily; throws if something stays. */
async function unmountUnder(dirs: string[]): Promise<void> {
  const roots = dirs.flatMap(pathVariants);
  for (let attempt = 0; ; attempt++) {
    const mounted = mountPointsUnder(await readFile("/proc/self/mountinfo", "utf8"), roots);
    if (mounted.length === 0) return;
    if (attempt === 4) throw new Error(`still mounted after umount -l:\n${mounted.join("\n")}`);
    if (attempt === 1) await sleep(200); // a shim that is just exiting may still hold one
    const lazy = attempt >= 2;
    for (const mountPoint of mounted) {
      await execa("umount", lazy ? ["-l", mountPoint] : [mountPoint], {
        reject: false,
        stdin: "ignore",
        timeout: CTR_TIMEOUT_MS,
      });
    }
  }
}

/**
 * Unmounts whatever is left at or below the state and data dirs (deepest
 * first; `umount -l` as a last resort), then removes both dirs. Refused while a
 * daemon of the layout runs (per its pid file): stop the engine first, with
 * its tasks, or running shims keep their (then lazily detached) mounts.
 */
export async function removeEngineData(layout: EngineLayout): Promise<void> {
  const dirs = [layout.stateDir, layout.dataDir];
  for (const dir of dirs) {
    if (resolve(dir) === "/") throw new Error("refusing to remove /");
  }
  const specs = daemonSpecs(layout, {});
  for (const spec of [specs.containerd, specs.buildkitd]) {
    const pid = await readPidFile(spec.pidFile);
    if (pid !== null && isLayoutDaemon(pid, spec)) {
      throw new Error(`not removing the engine's data: ${spec.name} (pid ${pid}) still runs`);
    }
  }
  await unmountUnder(dirs);
  await removeUnusedBridges(layout);
  // rm would descend into a mount, hence only after unmountUnder found none.
  for (const dir of dirs) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Bridge interfaces named in the engine's CNI configurations (`br-<id>`, `nerdctl0`). */
async function bridgesOf(layout: EngineLayout): Promise<string[]> {
  const entries = await readdir(layout.nerdctl.cniNetconfPath, { recursive: true, withFileTypes: true }).catch(() => []);
  const names = new Set<string>();
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(".conflist")) continue;
    const text = await readFile(join(entry.parentPath, entry.name), "utf8").catch(() => "");
    for (const match of text.matchAll(/"bridge"\s*:\s*"([\w.-]+)"/g)) names.add(match[1]!);
  }
  return [...names];
}

/**
 * The host's network interfaces outlive the engine that made them, and a
 * later engine's network with the same subnet is then refused as overlapping.
 * A bridge nothing is plugged into any more is removed with the engine's data.
 */
async function removeUnusedBridges(layout: EngineLayout): Promise<void> {
  for (const bridge of await bridgesOf(layout)) {
    const ports = await execa("ip", ["-o", "link", "show", "master", bridge], { reject: false });
    if (ports.exitCode !== 0 || String(ports.stdout).trim() !== "") continue;
    await execa("ip", ["link", "delete", bridge], { reject: false });
  }
}
