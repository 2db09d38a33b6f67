import { stateName, toContainerInspect } from "../docker/containers.ts";
import { allContainers } from "../nerdctl/containers.ts";
import { removeAfterExit } from "./auto-remove.ts";
import { baselineOf } from "./container-exit.ts";
import { watchHealth } from "./health.ts";
import { retakeHeld } from "./container-stdio.ts";
import { removingContainers } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

/**
 * At daemon start, what the daemon watches for containers it did not see
 * start: --rm containers that ended while no daemon watched are removed, the
 * running ones removed when they end, health checks scheduled again, and the
 * stdio of those a daemon that is gone held taken over.
 */
export async function resumeContainerWatches(scope: Scope): Promise<void> {
  const containers = await allContainers(scope.nerdctl);
  const autoRemoved = containers.filter((container) => toContainerInspect(container, undefined).HostConfig.AutoRemove === true);
  const ended = autoRemoved.filter((container) => stateName(container) === "exited" || stateName(container) === "dead");
  const endedIds = ended.map((container) => container.Id);
  await removingContainers(scope, endedIds, { force: true, volumes: true });
  for (const container of containers) {
    if (stateName(container) !== "running" && stateName(container) !== "paused") continue;
    if (autoRemoved.includes(container)) removeAfterExit(scope, baselineOf(container));
    watchHealth(scope, container);
    await retakeHeld(scope, container).catch(() => false);
  }
}
