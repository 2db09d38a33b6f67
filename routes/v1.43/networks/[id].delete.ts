import { defineRoute } from "../../../lib/server/route.ts";
import { networkRemove } from "../../../lib/service/networks.ts";

export default defineRoute(async (request) => {
  await networkRemove(request.scope, request.param("id"));
  request.status(204);
  return null;
});
