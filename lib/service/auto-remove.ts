import { watchEnd, type ExitBaseline } from "./container-exit.ts";
import { removingContainers } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

/*
 * docker run --rm: the daemon, not the client, removes the container when it
 * exits, so it goes also when the client is gone (container-watches.ts
 * catches up with what ended while no daemon watched).
 */

/**
 * Removes the container at its first exit after `baseline`, whoever is still
 * watching. Called before a start, so that a process that ends at once is
 * not missed; `signal` withdraws it (the start failed).
 */
export function removeAfterExit(scope: Scope, baseline: ExitBaseline, signal = new AbortController().signal): void {
  void watchEnd(scope, baseline, "exit", signal)
    .then((end) => (end.kind === "exit" ? removingContainers(scope, [baseline.id], { force: true, volumes: true }) : undefined))
    .catch(() => {});
}
