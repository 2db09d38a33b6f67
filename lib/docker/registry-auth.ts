/**
 * Docker's AuthConfig as the registry client uses it: the POST /auth body,
 * and the credentials a client's AuthConfig gives.
 */
import { badParameter } from "../errors.ts";
import type { RegistryCredentials } from "../registry/client.ts";
import { decodeRegistryAuth, type RegistryAuth } from "./transfer.ts";

/**
 * The /auth request body: Docker's AuthConfig as JSON, read with the same
 * decoder as X-Registry-Auth. An empty body is dockerd's `EOF`.
 */
export function parseAuthConfig(body: string): RegistryAuth {
  if (body.trim() === "") throw badParameter("EOF");
  const auth = decodeRegistryAuth(Buffer.from(body, "utf8").toString("base64"));
  if (auth === undefined) throw badParameter("invalid auth configuration: the request body must be a JSON object");
  return auth;
}

/** The credentials in Docker's AuthConfig (username/password, or `auth` = base64 `user:password`). */
export function registryCredentials(auth: RegistryAuth | undefined): RegistryCredentials {
  if (!auth) return {};
  let { username, password } = auth;
  if (username === undefined && password === undefined && auth.auth) {
    const decoded = Buffer.from(auth.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(auth.identitytoken ? { identityToken: auth.identitytoken } : {}),
    ...(auth.registrytoken ? { registryToken: auth.registrytoken } : {}),
  };
}
