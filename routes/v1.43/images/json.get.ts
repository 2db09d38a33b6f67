import { defineHandler, getQuery } from "h3";
import { Filters } from "../../../lib/docker/filters.ts";
import { checkListFilters, IMAGE_LIST_FILTERS } from "../../../lib/docker/images.ts";
import { listImages } from "../../../lib/nerdctl/images.ts";
import { compareVersions } from "../../../lib/docker/api-version.ts";
import { useApiVersion, useNerdctl } from "../../../lib/server/context.ts";
import { queryFlag } from "../../../lib/server/query.ts";

export default defineHandler(async (event) => {
  const query = getQuery(event);
  const apiVersion = useApiVersion(event);
  let filters = Filters.parse(query.filters, IMAGE_LIST_FILTERS);
  // Before API 1.41, `filter` was a glob on the repository name: a `reference` filter.
  const legacy = typeof query.filter === "string" ? query.filter : "";
  if (legacy !== "" && compareVersions(apiVersion, "1.41") < 0) filters = filters.with("reference", legacy);
  checkListFilters(filters);
  return listImages(useNerdctl(event), {
    all: queryFlag(query.all),
    filters,
    // `shared-size` arrived in API 1.42.
    sharedSize: compareVersions(apiVersion, "1.42") >= 0 && queryFlag(query["shared-size"]),
    apiVersion,
  });
});
