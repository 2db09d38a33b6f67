import { defineHandler, getQuery } from "h3";
import { CONTAINER_FILTERS, selectContainers } from "../../../lib/docker/containers.ts";
import { Filters } from "../../../lib/docker/filters.ts";
import { badParameter } from "../../../lib/errors.ts";
import { containerSizes, containerSnapshot } from "../../../lib/nerdctl/containers.ts";
import { useNerdctl } from "../../../lib/server/context.ts";
import { queryFlag } from "../../../lib/server/query.ts";

export default defineHandler(async (event) => {
  const query = getQuery(event);
  const limit = query.limit === undefined || query.limit === "" ? -1 : Number(query.limit);
  if (!Number.isInteger(limit)) throw badParameter(`invalid limit: ${String(query.limit)}`);
  // A limit asks for the most recently created containers, running or not.
  const all = queryFlag(query.all) || limit > 0;
  const filters = Filters.parse(query.filters, CONTAINER_FILTERS);
  // before/since may name a stopped container, and a status filter may ask for stopped ones.
  const wide = all || filters.has("before") || filters.has("since") || filters.has("status");
  const nerdctl = useNerdctl(event);
  const [snapshot, sizes] = await Promise.all([
    containerSnapshot(nerdctl, { all: wide }),
    queryFlag(query.size) ? containerSizes(nerdctl) : undefined,
  ]);
  return selectContainers(snapshot, { all, limit, filters, sizes }, Date.now());
});
