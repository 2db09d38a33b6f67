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

/**
 * nerdctl writes a check's result back with every label the container had
 * when the check began, so a label changed meanwhile is changed back: a stop's
 * explicitly-stopped mark (the stopped unless-stopped container then counts as
 * restarting, and containerd's restart monitor starts it again), a rename, a
 * restart policy. A container's checks hold off while the daemon changes it.
 */
export class HealthChecks {
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #holds = new Map<string, number>();

  /** Runs a check of the container, unless one is in flight or the container is being changed. */
  async check(namespace: string | undefined, id: string, run: () => Promise<void>): Promise<void> {
    const key = `${namespace ?? ""}/${id}`;
    if (this.#inFlight.has(key) || this.#holds.has(key)) return;
    const running = run().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, running);
    await running;
  }

  /** Runs `change` once the container's check in flight has ended, with none starting until it is done. */
  async holding<T>(namespace: string | undefined, id: string, change: () => Promise<T>): Promise<T> {
    const key = `${namespace ?? ""}/${id}`;
    this.#holds.set(key, (this.#holds.get(key) ?? 0) + 1);
    try {
      await this.#inFlight.get(key)?.catch(() => {});
      return await change();
    } finally {
      const left = this.#holds.get(key)! - 1;
      if (left > 0) this.#holds.set(key, left);
      else this.#holds.delete(key);
    }
  }
}

/** Docker's defaults, in milliseconds. */
const DEFAULT_INTERVAL_MS = 30_000;
const MIN_INTERVAL_MS = 1_000;

/** Runs the container's health check at its interval until it exits; nothing for a container without one. */
export function watchHealth(started: Scope, container: NerdctlContainerInspect): void {
  const test = container.Config?.Healthcheck?.Test;
  if (!test || test.length === 0 || test[0] === "NONE") return;
  const interval = Math.max(MIN_INTERVAL_MS, (container.Config?.Healthcheck?.Interval ?? 0) / 1e6 || DEFAULT_INTERVAL_MS);
  // The schedule is the daemon's, not the request's that started the container: its checks log as no request's.
  const scope: Scope = { ...started, nerdctl: started.nerdctl.forRequest(undefined) };
  const stop = new AbortController();
  let last = container.State?.Health?.Status;
  const check = async () => {
    try {
      // The check's result is in the container's record: the state reads it again.
      await changingContainer(scope, container.Id, () => runHealthcheck(scope.nerdctl, container.Id));
      const status = (await containerIfPresent(scope, container.Id))?.State?.Health?.Status;
      if (status && status !== last) scope.events.emit({ type: "container", action: "health_status", container: container.Id, status });
      last = status;
    } catch {
      // The container went away or stopped between checks; its end stops the schedule.
    }
  };
  const timer = setInterval(() => void scope.health.check(scope.namespace, container.Id, check), interval);
  stop.signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  void watchEnd(scope, { ...baselineOf(container), running: true }, "exit", stop.signal).then(() => stop.abort());
}
