import { pathStatResponse } from "../../../../lib/server/archive-responses.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerPathStat } from "../../../../lib/service/container-archive.ts";

export default defineRoute(async (request) => pathStatResponse(await containerPathStat(request.scope, request.param("id"), request.text("path") ?? "")));
