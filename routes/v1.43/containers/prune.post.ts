import { defineHandler, getQuery } from "h3";
import { CONTAINER_PRUNE_FILTERS, containerPruneCandidates } from "../../../lib/docker/containers.ts";
import { Filters } from "../../../lib/docker/filters.ts";
import { allContainers, containerSizes, removeContainers } from "../../../lib/nerdctl/containers.ts";
import { useNerdctl } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const filters = Filters.parse(getQuery(event).filters, CONTAINER_PRUNE_FILTERS);
  const nerdctl = useNerdctl(event);
  const [containers, sizes] = await Promise.all([allContainers(nerdctl), containerSizes(nerdctl)]);
  const candidates = containerPruneCandidates(containers, filters, Date.now());
  await removeContainers(nerdctl, candidates.map((container) => container.Id));
  return {
    ContainersDeleted: candidates.map((container) => container.Id),
    // nerdctl prints sizes rounded, so this is as exact as its `ps --size`.
    SpaceReclaimed: candidates.reduce((total, container) => total + (sizes.get(container.Id)?.rw ?? 0), 0),
  };
});
