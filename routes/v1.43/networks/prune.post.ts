import { NETWORK_PRUNE_FILTERS } from "../../../lib/docker/networks.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { networkPrune } from "../../../lib/service/networks.ts";

export default defineRoute((request) => networkPrune(request.scope, request.filters(NETWORK_PRUNE_FILTERS)));
