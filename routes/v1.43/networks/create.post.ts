import { parseNetworkCreate } from "../../../lib/docker/networks.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { networkCreate } from "../../../lib/service/networks.ts";

export default defineRoute(async (request) => {
  const created = await networkCreate(request.scope, parseNetworkCreate(await request.json()));
  request.status(201);
  return created;
});
