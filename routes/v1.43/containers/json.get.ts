import { defineHandler, getQuery } from "h3";
import { toContainerSummary } from "../../../lib/docker/containers.ts";
import { badParameter } from "../../../lib/docker/errors.ts";
import { containerSnapshot } from "../../../lib/nerdctl/containers.ts";
import { useNerdctl } from "../../../lib/server/context.ts";
import { queryFlag } from "../../../lib/server/query.ts";

export default defineHandler(async (event) => {
  const query = getQuery(event);
  const limit = query.limit === undefined || query.limit === "" ? -1 : Number(query.limit);
  if (!Number.isInteger(limit)) throw badParameter(`invalid limit: ${String(query.limit)}`);
  // A limit asks for the most recently created containers, running or not.
  const all = queryFlag(query.all) || limit > 0;
  const { containers, images } = await containerSnapshot(useNerdctl(event), { all });
  const now = Date.now();
  const summaries = containers
    .map((container) => toContainerSummary(container, images.get(container.Image), now))
    .sort((a, b) => b.Created - a.Created);
  return limit > 0 ? summaries.slice(0, limit) : summaries;
});
