import { defineRoute } from "../../../lib/server/route.ts";
import { volumeInspect } from "../../../lib/service/volumes.ts";

export default defineRoute((request) => volumeInspect(request.scope, request.param("name")));
