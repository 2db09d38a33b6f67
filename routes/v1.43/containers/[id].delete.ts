import { defineRoute } from "../../../lib/server/route.ts";
import { containerRemove } from "../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => {
  await containerRemove(request.scope, request.param("id"), { force: request.flag("force"), volumes: request.flag("v") });
  request.status(204);
  return null;
});
