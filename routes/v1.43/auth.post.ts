import { defineHandler } from "h3";
import { badParameter } from "../../lib/errors.ts";
import { login, parseAuthConfig } from "../../lib/registry/login.ts";
import { clientGone, readSmallBody } from "../../lib/server/streams.ts";

/** POST /auth (docker login): checks the credentials with the registry; stores nothing. */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  const body = await readSmallBody(event).catch((error: unknown) => {
    throw badParameter(error instanceof RangeError ? error.message : "could not read the request body");
  });
  return login(parseAuthConfig(body), { signal });
});
