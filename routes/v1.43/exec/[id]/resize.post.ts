import { parseResize } from "../../../../lib/docker/exec.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { execResize } from "../../../../lib/service/exec.ts";

export default defineRoute(async (request) => {
  await execResize(request.scope, request.param("id"), parseResize(request.text("h"), request.text("w")));
  return "";
});
