import { defineRoute } from "../../../../lib/server/route.ts";
import { containerInspect } from "../../../../lib/service/container-reads.ts";

export default defineRoute((request) => containerInspect(request.scope, request.param("id")));
