import { defineRoute } from "../../../lib/server/route.ts";
import { containerCreate } from "../../../lib/service/container-create.ts";

export default defineRoute(async (request) => {
  const created = await containerCreate(request.scope, { body: await request.json(), name: request.text("name"), platform: request.text("platform") });
  request.status(201);
  return created;
});
