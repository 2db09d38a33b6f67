import { badParameter } from "../../lib/errors.ts";
import { parseAuthConfig } from "../../lib/docker/registry-auth.ts";
import { defineRoute } from "../../lib/server/route.ts";
import { readSmallBody } from "../../lib/server/streams.ts";
import { logIn } from "../../lib/service/registry.ts";

/** POST /auth (docker login): checks the credentials with the registry; stores nothing. */
export default defineRoute(async (request) => {
  const signal = request.signal;
  const body = await readSmallBody(request.event).catch((error: unknown) => {
    throw badParameter(error instanceof RangeError ? error.message : "could not read the request body");
  });
  return logIn(request.scope, { auth: parseAuthConfig(body), signal });
});
