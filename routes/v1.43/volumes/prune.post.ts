import { VOLUME_PRUNE_FILTERS } from "../../../lib/docker/volumes.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { volumePrune } from "../../../lib/service/volumes.ts";

export default defineRoute((request) => volumePrune(request.scope, request.filters(VOLUME_PRUNE_FILTERS), request.since("1.42")));
