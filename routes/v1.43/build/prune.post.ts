import { defineHandler } from "h3";
import { parseBuildPruneQuery } from "../../../lib/docker/build.ts";
import { pruneBuildCache } from "../../../lib/nerdctl/build.ts";
import { useNerdctl } from "../../../lib/server/context.ts";
import { clientGone } from "../../../lib/server/streams.ts";

/** POST /build/prune: BuildKit's cache, pruned with buildctl; dockerd's {CachesDeleted, SpaceReclaimed}. */
export default defineHandler(async (event) => {
  const request = parseBuildPruneQuery(event.url.searchParams);
  return pruneBuildCache(useNerdctl(event), request, clientGone(event));
});
