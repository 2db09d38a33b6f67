import { countContainers, countStates, toSystemInfo, toSystemVersion, type ObjectCounts } from "../docker/system.ts";
import type { SystemInfo, SystemVersion } from "../docker/types.ts";
import { probeHost } from "../host/facts.ts";
import { listAllContainers, listImageIds } from "../nerdctl/system.ts";
import type { Scope } from "./scope.ts";

/** GET /version: the engine's components and the daemon's own versions. */
export async function systemVersion(scope: Scope): Promise<SystemVersion> {
  return toSystemVersion(await scope.state.engineVersion(), scope.facts());
}

/** GET /info: the host, the engine and the namespace's counts. */
export async function systemInfo(scope: Scope): Promise<SystemInfo> {
  const [info, version, objects, host] = await Promise.all([scope.state.engineInfo(), scope.state.engineVersion(), objectCounts(scope), probeHost()]);
  return toSystemInfo({ info, version }, objects, scope.facts(), host);
}

/** From the namespace's state, or from nerdctl while it is not kept. */
async function objectCounts(scope: Scope): Promise<ObjectCounts> {
  const [containers, images] = await Promise.all([scope.state.containers.all(), scope.state.imageRecords.current()]);
  return {
    containers: containers ? countStates(containers) : countContainers(await listAllContainers(scope.nerdctl)),
    // As `nerdctl images --all --quiet` counts them: by the digest each record names.
    images: new Set(images ? images.map((record) => record.Image.Target.digest) : await listImageIds(scope.nerdctl)).size,
  };
}
