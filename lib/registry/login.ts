/**
 * POST /auth (docker login): checks credentials against the registry's /v2/,
 * as dockerd's loginV2 does, and answers Docker's AuthenticateOKBody. Nothing
 * is stored: the client keeps the credentials (or the IdentityToken).
 */
import { RegistryClient, type RegistryCredentials } from "./client.ts";
import { loginRegistryHost } from "./endpoint.ts";

export interface AuthenticateOKBody {
  Status: string;
  IdentityToken: string;
}

export interface LoginOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Logs in at the registry the client's server address names (Docker Hub when none). */
export async function login(serverAddress: string | undefined, credentials: RegistryCredentials, options: LoginOptions = {}): Promise<AuthenticateOKBody> {
  const host = loginRegistryHost(serverAddress);
  const client = new RegistryClient({
    host,
    credentials,
    login: true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  await client.login();
  return { Status: "Login Succeeded", IdentityToken: client.identityToken };
}
