import { defineRoute } from "../../lib/server/route.ts";
import { buildSession, SESSION_HEADER_PREFIX } from "../../lib/service/buildkit.ts";

export default defineRoute((request) =>
  request.switchProtocols("h2c", () => buildSession(request.scope, request.headersStartingWith(SESSION_HEADER_PREFIX))),
);
