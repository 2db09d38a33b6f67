import { toContainerInspect, stateName } from "../docker/containers.ts";
import { allContainers, removeContainers } from "../nerdctl/containers.ts";
import { baselineOf, watchEnd, type ExitBaseline } from "./container-exit.ts";
import type { Scope } from "./scope.ts";

/*
 * docker run --rm: the daemon, not the client, removes the container when it
 * exits, so it goes also when the client is gone. A daemon that was down
 * meanwhile finds what it missed when it starts.
 */

/** Removes the container at its next exit, whoever is still watching. */
export function removeAfterExit(scope: Scope, baseline: ExitBaseline): void {
  void watchEnd(scope, { ...baseline, running: true }, "exit", new AbortController().signal)
    .then((end) => (end.kind === "exit" ? removeContainers(scope.nerdctl, [baseline.id], { force: true, volumes: true }) : undefined))
    .catch(() => {});
}

/** At daemon start: removes the --rm containers that ended while no daemon watched, and watches the running ones. */
export async function sweepAutoRemoved(scope: Scope): Promise<void> {
  const containers = (await allContainers(scope.nerdctl)).filter((container) => toContainerInspect(container, undefined).HostConfig.AutoRemove === true);
  const ended = containers.filter((container) => stateName(container) === "exited" || stateName(container) === "dead");
  await removeContainers(scope.nerdctl, ended.map((container) => container.Id), { force: true, volumes: true });
  for (const container of containers) if (stateName(container) === "running" || stateName(container) === "paused") removeAfterExit(scope, baselineOf(container));
}
