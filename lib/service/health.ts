import { runHealthcheck } from "../nerdctl/container-lifecycle.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { baselineOf, watchEnd } from "./container-exit.ts";
import { changingContainer, containerIfPresent } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

/*
 * Health checks: nerdctl runs a container's check when asked
 * (`nerdctl container healthcheck`) and keeps the result, but schedules it only
 * through systemd timers, which a host without systemd (a container, a CI
 * runner) does not have. The daemon schedules them itself, for as long as the
 * container runs, and announces each change of status as dockerd does.
 */

/** Docker's defaults, in milliseconds. */
const DEFAULT_INTERVAL_MS = 30_000;
const MIN_INTERVAL_MS = 1_000;

/** Runs the container's health check at its interval until it exits; nothing for a container without one. */
export function watchHealth(scope: Scope, container: NerdctlContainerInspect): void {
  const test = container.Config?.Healthcheck?.Test;
  if (!test || test.length === 0 || test[0] === "NONE") return;
  const interval = Math.max(MIN_INTERVAL_MS, (container.Config?.Healthcheck?.Interval ?? 0) / 1e6 || DEFAULT_INTERVAL_MS);
  const stop = new AbortController();
  let last = container.State?.Health?.Status;
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      // The check's result is in the container's record: the state reads it again.
      await changingContainer(scope, container.Id, () => runHealthcheck(scope.nerdctl, container.Id));
      const status = (await containerIfPresent(scope, container.Id))?.State?.Health?.Status;
      if (status && status !== last) scope.events.emit({ type: "container", action: "health_status", container: container.Id, status });
      last = status;
    } catch {
      // The container went away or stopped between checks; its end stops the schedule.
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), interval);
  stop.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  void watchEnd(scope, { ...baselineOf(container), running: true }, "exit", stop.signal).then(() => stop.abort());
}
