import { parseStopOptions } from "../../../../lib/docker/container-lifecycle.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerRestart } from "../../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => {
  await containerRestart(request.scope, request.param("id"), parseStopOptions({ t: request.integer("t"), signal: request.nonEmpty("signal") }));
  request.status(204);
  return null;
});
