import { defineHandler, getQuery } from "h3";
import { Filters } from "../../../lib/docker/filters.ts";
import { checkPruneFilters, IMAGE_PRUNE_FILTERS } from "../../../lib/docker/images.ts";
import { pruneImages } from "../../../lib/nerdctl/images.ts";
import { useNerdctl } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const filters = Filters.parse(getQuery(event).filters, IMAGE_PRUNE_FILTERS);
  checkPruneFilters(filters);
  return pruneImages(useNerdctl(event), filters);
});
