import { archiveResponse } from "../../../../lib/server/archive-responses.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerArchive } from "../../../../lib/service/container-archive.ts";

export default defineRoute(async (request) =>
  archiveResponse(await containerArchive(request.scope, request.param("id"), request.text("path") ?? "", request.signal), request.header("accept-encoding")),
);
