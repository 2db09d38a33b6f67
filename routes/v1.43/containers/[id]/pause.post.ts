import { defineRoute } from "../../../../lib/server/route.ts";
import { containerPause } from "../../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => {
  await containerPause(request.scope, request.param("id"));
  request.status(204);
  return null;
});
