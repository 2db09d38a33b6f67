import { parseUpdate } from "../../../../lib/docker/container-lifecycle.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerUpdate } from "../../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => containerUpdate(request.scope, request.param("id"), parseUpdate(await request.json())));
