import { parseNewName } from "../../../../lib/docker/container-lifecycle.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerRename } from "../../../../lib/service/container-lifecycle.ts";

export default defineRoute(async (request) => {
  await containerRename(request.scope, request.param("id"), parseNewName(request.text("name")));
  request.status(204);
  return null;
});
