import { defineRoute } from "../../../../lib/server/route.ts";
import { containerChanges } from "../../../../lib/service/container-reads.ts";

export default defineRoute((request) => containerChanges(request.scope, request.param("id")));
