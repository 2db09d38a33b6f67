import { CONTAINER_PRUNE_FILTERS } from "../../../lib/docker/container-selection.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { containerPrune } from "../../../lib/service/containers.ts";

export default defineRoute((request) => containerPrune(request.scope, request.filters(CONTAINER_PRUNE_FILTERS)));
