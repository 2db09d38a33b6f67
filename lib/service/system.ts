import { toSystemInfo, toSystemVersion } from "../docker/system.ts";
import type { SystemInfo, SystemVersion } from "../docker/types.ts";
import { probeHost } from "../host/facts.ts";
import { systemSnapshot, version } from "../nerdctl/system.ts";
import type { Scope } from "./scope.ts";

/** GET /version: the engine's components and the daemon's own versions. */
export async function systemVersion(scope: Scope): Promise<SystemVersion> {
  return toSystemVersion(await version(scope.nerdctl), scope.facts());
}

/** GET /info: the host, the engine and the namespace's counts. */
export async function systemInfo(scope: Scope): Promise<SystemInfo> {
  const [snapshot, host] = await Promise.all([systemSnapshot(scope.nerdctl), probeHost()]);
  return toSystemInfo(snapshot, scope.facts(), host);
}
