import { readdir, readFile, stat } from "node:fs/promises";

export interface HostFacts {
  osVersion: string;
  openFds: number;
  activeResources: number;
}

let osVersion: Promise<string> | undefined;

/** VERSION_ID of /etc/os-release (read once: it does not change under a running daemon). */
function readOsVersion(): Promise<string> {
  osVersion ??= readFile("/etc/os-release", "utf8").then(
    (text) => /^VERSION_ID="?([^"\n]*)"?$/m.exec(text)?.[1] ?? "",
    () => "",
  );
  return osVersion;
}

/** The daemon process's own figures that /info reports. */
export async function probeHost(): Promise<HostFacts> {
  const [version, fds] = await Promise.all([readOsVersion(), readdir("/proc/self/fd").catch(() => [])]);
  return { osVersion: version, openFds: fds.length, activeResources: process.getActiveResourcesInfo().length };
}

/**
 * When each file or directory was made, as Docker prints it (RFC 3339,
 * seconds). nerdctl records no creation time for volumes and networks; their
 * directory and configuration file have one. Missing paths map to "".
 */
export async function createdAtOf(paths: string[]): Promise<Map<string, string>> {
  const times = await Promise.all(
    paths.map(async (path) => {
      const info = await stat(path).catch(() => undefined);
      const time = info ? (info.birthtimeMs > 0 ? info.birthtime : info.ctime) : undefined;
      return [path, time ? time.toISOString().replace(/\.\d+Z$/, "Z") : ""] as const;
    }),
  );
  return new Map(times);
}
