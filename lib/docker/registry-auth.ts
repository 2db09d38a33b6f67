/**
 * Docker's AuthConfig: the credentials a client sends (X-Registry-Auth,
 * X-Registry-Config, the POST /auth body), as the daemon's registry client
 * uses them and as the docker config.json nerdctl reads.
 */
import { badParameter } from "../errors.ts";
import { DEFAULT_DOMAIN } from "../reference.ts";
import type { RegistryCredentials } from "../registry/client.ts";

/** The key docker login and every credential helper use for Docker Hub. */
const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/** Docker's AuthConfig, as the X-Registry-Auth header carries it (base64url JSON). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

const AUTH_FIELDS = ["username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken"] as const;

/** The JSON in a Docker auth header (base64 or base64url); undefined when it cannot be read. */
function headerJson(encoded: string): unknown {
  const trimmed = encoded.trim();
  if (!trimmed) return undefined;
  try {
    return JSON.parse(Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** An AuthConfig's non-empty text fields; undefined when the value is not an object. */
function authConfig(value: unknown): RegistryAuth | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const auth: RegistryAuth = {};
  for (const key of AUTH_FIELDS) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === "string" && field !== "") auth[key] = field;
  }
  return auth;
}

/** Decodes X-Registry-Auth; undefined when it cannot be read (dockerd then pulls anonymously). */
export function decodeRegistryAuth(encoded: string): RegistryAuth | undefined {
  return authConfig(headerJson(encoded));
}

/** A docker config.json `auths` entry for these credentials; undefined when they hold none. */
function configEntry(auth: RegistryAuth): Record<string, string> | undefined {
  const entry: Record<string, string> = {};
  if (auth.username !== undefined || auth.password !== undefined) {
    entry.auth = Buffer.from(`${auth.username ?? ""}:${auth.password ?? ""}`).toString("base64");
  } else if (auth.auth) {
    entry.auth = auth.auth;
  }
  if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
  if (auth.registrytoken) entry.registrytoken = auth.registrytoken;
  return Object.keys(entry).length === 0 ? undefined : entry;
}

const dockerConfig = (auths: Record<string, Record<string, string>>): string => `${JSON.stringify({ auths })}\n`;

/**
 * A docker config.json holding these credentials for the registry of the
 * reference (nerdctl reads it through DOCKER_CONFIG); undefined when the
 * header carried no credentials at all (`{}`, the docker CLI's anonymous case).
 */
export function dockerConfigFor(auth: RegistryAuth | undefined, domain: string): string | undefined {
  const entry = auth && configEntry(auth);
  return entry ? dockerConfig({ [domain === DEFAULT_DOMAIN ? DOCKER_HUB_AUTH_KEY : domain]: entry }) : undefined;
}

/**
 * X-Registry-Config (base64 JSON: registry → AuthConfig, what the docker CLI
 * sends for every registry it has credentials for) as a docker config.json for
 * a build's pulls; undefined when it names none.
 */
export function dockerConfigForRegistries(header: string | null | undefined): string | undefined {
  const parsed = headerJson(header ?? "");
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  const auths: Record<string, Record<string, string>> = {};
  for (const [registry, value] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = configEntry(authConfig(value) ?? {});
    if (!entry) continue;
    auths[registry === DEFAULT_DOMAIN || registry === "index.docker.io" ? DOCKER_HUB_AUTH_KEY : registry] = entry;
  }
  return Object.keys(auths).length === 0 ? undefined : dockerConfig(auths);
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
