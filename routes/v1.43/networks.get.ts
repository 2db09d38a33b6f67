import { NETWORK_FILTERS } from "../../lib/docker/networks.ts";
import { defineRoute } from "../../lib/server/route.ts";
import { networkList } from "../../lib/service/networks.ts";

export default defineRoute((request) => networkList(request.scope, request.filters(NETWORK_FILTERS)));
