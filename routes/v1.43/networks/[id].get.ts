import { defineRoute } from "../../../lib/server/route.ts";
import { networkInspect } from "../../../lib/service/networks.ts";

export default defineRoute((request) => networkInspect(request.scope, request.param("id")));
