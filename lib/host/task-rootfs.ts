import { readFile } from "node:fs/promises";

/** mountinfo escapes blanks and backslashes in paths as \NNN (octal). */
const unescapeMountPath = (path: string) => path.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/**
 * Where containerd's runc shim mounted a container's root filesystem for its
 * task (`…/io.containerd.runtime.v2.task/<namespace>/<id>/rootfs`), from this
 * process's mount table. The mount lasts as long as the task, running or
 * exited; it holds the same file system the container sees, without the
 * container's own mounts (/proc, /dev, volumes) laid over it. Undefined when
 * the container has no task (created, or its task deleted).
 */
export async function taskRootfs(containerId: string, mountinfo = "/proc/self/mountinfo"): Promise<string | undefined> {
  if (!/^[0-9a-f]{64}$/.test(containerId)) return undefined;
  const table = await readFile(mountinfo, "utf8");
  let found: string | undefined;
  for (const line of table.split("\n")) {
    const mountPoint = line.split(" ")[4];
    if (!mountPoint) continue;
    const path = unescapeMountPath(mountPoint);
    if (path.endsWith(`/${containerId}/rootfs`) && path.includes("/io.containerd.runtime.v2.task/")) found = path;
  }
  return found;
}
