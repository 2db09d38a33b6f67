import { parseExecCreate } from "../../../../lib/docker/exec.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { execCreate } from "../../../../lib/service/exec.ts";

export default defineRoute(async (request) => {
  const created = await execCreate(request.scope, request.param("id"), parseExecCreate(await request.json(), request.since("1.42")));
  request.status(201);
  return created;
});
