import { defineRoute } from "../../../../lib/server/route.ts";
import { containerUnpause } from "../../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => {
  await containerUnpause(request.scope, request.param("id"));
  request.status(204);
  return null;
});
