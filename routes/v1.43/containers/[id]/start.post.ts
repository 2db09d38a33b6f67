import { defineRoute } from "../../../../lib/server/route.ts";
import { containerStart } from "../../../../lib/service/container-stdio.ts";

export default defineRoute(async (request) => {
  await containerStart(request.scope, request.param("id"));
  request.status(204);
  return null;
});
