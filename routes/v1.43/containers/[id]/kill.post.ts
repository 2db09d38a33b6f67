import { parseSignal } from "../../../../lib/docker/container-lifecycle.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerKill } from "../../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => {
  await containerKill(request.scope, request.param("id"), parseSignal(request.nonEmpty("signal") ?? "SIGKILL"));
  request.status(204);
  return null;
});
