import { parseWaitCondition } from "../../../../lib/docker/container-lifecycle.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { lateJsonResponse } from "../../../../lib/server/streams.ts";
import { containerWait } from "../../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => {
  const wait = await containerWait(request.scope, request.param("id"), parseWaitCondition(request.text("condition")), request.signal);
  return lateJsonResponse(wait.result);
});
