import { setTimeout as sleep } from "node:timers/promises";
import { defineHandler, getQuery } from "h3";
import { sampleCgroup, type CgroupSample } from "../../../../lib/host/cgroups.ts";
import { toStatsDocument } from "../../../../lib/docker/stats.ts";
import { containerTask } from "../../../../lib/nerdctl/stats.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";
import { queryFlag } from "../../../../lib/server/query.ts";
import { pullStream } from "../../../../lib/server/streams.ts";

/** dockerd samples once a second. */
const INTERVAL_MS = 1000;

export default defineHandler(async (event) => {
  const query = getQuery(event);
  const stream = query.stream === undefined || queryFlag(query.stream);
  const oneShot = queryFlag(query["one-shot"]);
  const task = await containerTask(useNerdctl(event), useParam(event, "id"));
  const sample = (): Promise<CgroupSample | undefined> =>
    task.running ? sampleCgroup(task.cgroupsPath, task.pid) : Promise.resolve(undefined);

  if (!stream) {
    const first = await sample();
    if (oneShot || !first) return toStatsDocument(task, first);
    await sleep(INTERVAL_MS);
    return toStatsDocument(task, await sample(), first);
  }

  let stopped = false;
  const documents = (async function* () {
    let previous: CgroupSample | undefined;
    while (!stopped) {
      const current = await sample();
      yield `${JSON.stringify(toStatsDocument(task, current, previous))}\n`;
      if (!current) return;
      previous = current;
      await sleep(INTERVAL_MS);
    }
  })();
  return new Response(pullStream(documents, () => (stopped = true)), { headers: { "Content-Type": "application/json" } });
});
