import { readdir, readFile } from "node:fs/promises";

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
