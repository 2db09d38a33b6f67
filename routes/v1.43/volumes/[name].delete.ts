import { defineRoute } from "../../../lib/server/route.ts";
import { volumeRemove } from "../../../lib/service/volumes.ts";

export default defineRoute(async (request) => {
  await volumeRemove(request.scope, request.param("name"));
  request.status(204);
  return null;
});
