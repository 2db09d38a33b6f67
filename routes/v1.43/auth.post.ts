import { parseAuthConfig } from "../../lib/docker/registry-auth.ts";
import { defineRoute } from "../../lib/server/route.ts";
import { logIn } from "../../lib/service/registry.ts";

/** POST /auth (docker login): checks the credentials with the registry; stores nothing. */
export default defineRoute(async (request) => logIn(request.scope, { auth: parseAuthConfig(await request.smallBody()), signal: request.signal }));
