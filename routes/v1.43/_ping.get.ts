import { pingHeaders } from "../../lib/server/headers.ts";
import { defineRoute } from "../../lib/server/route.ts";
import { builderVersion } from "../../lib/service/buildkit.ts";

export default defineRoute(async (request) => {
  request.setHeaders(pingHeaders(await builderVersion(request.scope)));
  return "OK";
});
