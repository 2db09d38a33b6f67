import { defineRoute } from "../../../../lib/server/route.ts";
import { execInspect } from "../../../../lib/service/exec.ts";

export default defineRoute((request) => execInspect(request.scope, request.param("id")));
