/**
 * POST /auth (docker login): checks credentials against the registry's /v2/,
 * as dockerd's loginV2 does, and answers Docker's AuthenticateOKBody. Nothing
 * is stored: the client keeps the credentials (or the IdentityToken).
 */
import { badParameter } from "../errors.ts";
import { decodeRegistryAuth, type RegistryAuth } from "../docker/transfer.ts";
import { RegistryClient, registryCredentials } from "./client.ts";
import { loginRegistryHost } from "./endpoint.ts";

export interface AuthenticateOKBody {
  Status: string;
  IdentityToken: string;
}

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

export interface LoginOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function login(auth: RegistryAuth, options: LoginOptions = {}): Promise<AuthenticateOKBody> {
  const host = loginRegistryHost(auth.serveraddress);
  const client = new RegistryClient({
    host,
    credentials: registryCredentials(auth),
    login: true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  await client.login();
  return { Status: "Login Succeeded", IdentityToken: client.identityToken };
}
