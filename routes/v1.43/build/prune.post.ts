import { parseBuildPruneQuery } from "../../../lib/docker/build.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { pruneBuildCache } from "../../../lib/service/build.ts";

/** POST /build/prune: BuildKit's cache, pruned with buildctl; dockerd's {CachesDeleted, SpaceReclaimed}. */
export default defineRoute((request) => pruneBuildCache(request.scope, parseBuildPruneQuery(request.query), request.signal));
