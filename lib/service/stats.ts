import { setTimeout as sleep } from "node:timers/promises";
import { toStatsDocument, type StatsDocument } from "../docker/stats.ts";
import { sampleCgroup, type CgroupSample } from "../host/cgroups.ts";
import { containerTask } from "../nerdctl/stats.ts";
import type { Scope } from "./scope.ts";
import { INTERVAL_MS } from "./stats-samplers.ts";

/** Stats documents, one JSON line a second, until stopped or the container stops. */
export interface StatsStream {
  lines: AsyncIterable<string>;
  stop(): void;
}

/**
 * GET /containers/{id}/stats: a stream of documents, or one document (with
 * precpu_stats from a sample a second earlier, unless `oneShot`).
 */
export async function containerStats(
  scope: Scope,
  ref: string,
  options: { stream: boolean; oneShot: boolean },
): Promise<StatsDocument | StatsStream> {
  const task = await containerTask(scope.nerdctl, ref);
  const sample = (): Promise<CgroupSample | undefined> =>
    task.running ? sampleCgroup(task.cgroupsPath, task.pid) : Promise.resolve(undefined);

  if (!options.stream) {
    const first = await sample();
    if (options.oneShot || !first) return toStatsDocument(task, first);
    await sleep(INTERVAL_MS);
    return toStatsDocument(task, await sample(), first);
  }

  // Streams share their container's sampler: one read a second however many clients watch.
  const seat = scope.samplers.join(`${scope.namespace ?? ""}/${task.id}`, sample);
  let stopped = false;
  const lines = (async function* () {
    try {
      let previous: CgroupSample | undefined;
      let current = await seat.first();
      while (!stopped) {
        yield `${JSON.stringify(toStatsDocument(task, current, previous))}\n`;
        if (!current) return;
        previous = current;
        current = await seat.next();
      }
    } finally {
      seat.leave();
    }
  })();
  return {
    lines,
    stop: () => {
      stopped = true;
      seat.leave();
    },
  };
}
