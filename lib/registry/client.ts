/**
 * A small client for the registry API (distribution spec v2), for what the
 * daemon asks a registry itself: `/v2/` (login), manifests and config blobs
 * (`/distribution`), the catalog (search). Authorization follows
 * docker/distribution's: the anonymous `/v2/` ping says how (`WWW-Authenticate:
 * Bearer realm=…,service=…` → a token from that realm, with the client's
 * credentials or refresh token; `Basic` → the credentials on each request).
 *
 * Every request has a timeout, every body read is bounded, redirects are
 * followed by hand (credentials never go to another origin, never from HTTPS to
 * plain HTTP), and nothing here logs: credentials only ever travel in headers
 * or form bodies to the registry and the token server it names.
 */
import { createHash } from "node:crypto";
import { ApiError, type ErrorKind } from "../errors.ts";
import { parseChallenges, type Challenge } from "./challenge.ts";
import { isLoopbackHost, registryBaseUrl } from "./endpoint.ts";
import { networkReason, registryResponseError, requestError, statusText } from "./errors.ts";

/** What the client authenticates with (from X-Registry-Auth, or the /auth body). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token (docker login's IdentityToken): exchanged at the token server (OAuth2). */
  identityToken?: string;
  /** A bearer token to send as it is. */
  registryToken?: string;
}

/** Upper bounds of what is read from a registry, by kind of answer. */
export const RESPONSE_LIMITS = {
  manifest: 4 * 1024 * 1024,
  config: 4 * 1024 * 1024,
  token: 1024 * 1024,
  catalog: 1024 * 1024,
  search: 2 * 1024 * 1024,
  error: 64 * 1024,
} as const;

/** dockerd's login client gives each request 15 s. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** And one operation (several requests: ping, token, manifest, config, catalog pages) this long at most. */
export const OPERATION_TIMEOUT_MS = 60_000;
/** docker/distribution's client id at token servers (dockerd's AuthClientID). */
const CLIENT_ID = "docker";
const MAX_REDIRECTS = 5;

/** The manifest media types Docker accepts, newest first (distribution.ManifestMediaTypes). */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
  "application/json",
] as const;

export interface RegistryClientOptions {
  /** host[:port] of the registry API (registry-1.docker.io for Docker Hub). */
  host: string;
  credentials?: RegistryCredentials;
  /** Aborts everything in flight (the client went away). */
  signal?: AbortSignal;
  /** Per request; REQUEST_TIMEOUT_MS by default. */
  timeoutMs?: number;
  /**
   * docker login: ask the token server for a refresh token (offline_token=true),
   * and answer its refusal with 401 as dockerd's login does (elsewhere dockerd
   * reports a refused token as a 500).
   */
  login?: boolean;
}

export interface RegistryRequest {
  method: "GET" | "HEAD";
  /** Path and query below the registry's origin: `/v2/…`. */
  path: string;
  /** Token scopes: `repository:library/busybox:pull`, `registry:catalog:*`. */
  scopes: string[];
  accept?: readonly string[];
}

export function mediaTypeOf(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** `sha256:<hex>` (or sha384/sha512) of bytes; undefined for an algorithm Node does not know. */
export function digestOf(bytes: Uint8Array, algorithm = "sha256"): string | undefined {
  if (!["sha256", "sha384", "sha512"].includes(algorithm)) return undefined;
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

export class RegistryClient {
  readonly host: string;
  readonly baseUrl: string;
  readonly #credentials: RegistryCredentials;
  readonly #timeoutMs: number;
  readonly #login: boolean;
  readonly #signal: AbortSignal;
  #challenges: Challenge[] | undefined;
  readonly #tokens = new Map<string, string>();
  #refreshToken: string | undefined;

  constructor(options: RegistryClientOptions) {
    this.host = options.host;
    this.baseUrl = registryBaseUrl(options.host);
    this.#credentials = options.credentials ?? {};
    this.#timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.#login = options.login ?? false;
    this.#refreshToken = this.#credentials.identityToken;
    const deadline = AbortSignal.timeout(Math.max(OPERATION_TIMEOUT_MS, this.#timeoutMs));
    this.#signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  }

  /** The refresh token the token server handed out (or the one the client came with); "" when none. */
  get identityToken(): string {
    return this.#refreshToken ?? "";
  }

  /** GET /v2/ without credentials: learns how the registry wants to be authorized. Returns its status. */
  async ping(): Promise<number> {
    const url = `${this.baseUrl}/v2/`;
    const response = await this.#send("GET", url, new Headers());
    await discard(response);
    this.#challenges = response.status === 401 ? parseChallenges(response.headers.get("www-authenticate")) : [];
    return response.status;
  }

  /**
   * docker login: the ping, then GET /v2/ authorized as the registry asked.
   * Resolves when the registry accepts the credentials (or needs none).
   */
  async login(): Promise<void> {
    const url = `${this.baseUrl}/v2/`;
    if ((await this.ping()) === 200) return;
    const response = await this.request({ method: "GET", path: "/v2/", scopes: [] });
    await discard(response);
    if (response.status === 200) return;
    // dockerd's words; a 401 answer means the credentials, whatever the scheme.
    throw new ApiError(
      response.status === 401 ? "unauthorized" : "system",
      `login attempt to ${url} failed with status: ${response.status} ${statusText(response.status)}`.trim(),
    );
  }

  /** One authorized request; the response's body is the caller's to read (readBody) or discard. */
  async request(spec: RegistryRequest): Promise<Response> {
    if (this.#challenges === undefined) await this.ping();
    const url = `${this.baseUrl}${spec.path}`;
    const headers = new Headers();
    if (spec.accept) headers.set("Accept", spec.accept.join(", "));
    const authorization = await this.#authorization(spec.method, url, spec.scopes);
    if (authorization) headers.set("Authorization", authorization);
    const response = await this.#send(spec.method, url, headers);
    if (response.status === 401 && !authorization) {
      // A registry open at /v2/ may still guard a repository: learn its challenge and try once more.
      const challenges = parseChallenges(response.headers.get("www-authenticate"));
      if (challenges.some((challenge) => challenge.scheme === "bearer" || challenge.scheme === "basic")) {
        this.#challenges = challenges;
        const retried = await this.#authorization(spec.method, url, spec.scopes);
        if (retried) {
          await discard(response);
          headers.set("Authorization", retried);
          return this.#send(spec.method, url, headers);
        }
      }
    }
    return response;
  }

  /** The body of a response, at most limit bytes (more is refused, and the transfer stopped). */
  readBody(response: Response, limit: number, method: string, url: string): Promise<Buffer> {
    return readBounded(response, limit, method, url, this.host, this.#timeoutMs);
  }

  /** The registry's error answer as dockerd reports it. */
  async responseError(response: Response, method: string, url: string): Promise<ApiError> {
    const body = method === "HEAD" ? "" : (await this.readBody(response, RESPONSE_LIMITS.error, method, url).catch(() => Buffer.alloc(0))).toString("utf8");
    return registryResponseError(response.status, response.headers, body);
  }

  /** A blob (a config), verified against its digest. */
  async blob(repository: string, digest: string, limit: number): Promise<Buffer> {
    const path = `/v2/${repository}/blobs/${digest}`;
    const url = `${this.baseUrl}${path}`;
    const response = await this.request({ method: "GET", path, scopes: [`repository:${repository}:pull`] });
    if (!response.ok) throw await this.responseError(response, "GET", url);
    const bytes = await this.readBody(response, limit, "GET", url);
    const [algorithm] = digest.split(":");
    const actual = digestOf(bytes, algorithm);
    if (actual !== undefined && actual !== digest) throw new ApiError("upstream", `blob ${digest} from ${this.host} does not match its digest (got ${actual})`);
    return bytes;
  }

  // --- authorization ---------------------------------------------------------------

  async #authorization(method: string, url: string, scopes: string[]): Promise<string | undefined> {
    const challenges = this.#challenges ?? [];
    // docker/distribution's order: the token handler before the basic one.
    const bearer = challenges.find((challenge) => challenge.scheme === "bearer");
    if (bearer) {
      if (this.#credentials.registryToken) return `Bearer ${this.#credentials.registryToken}`;
      return `Bearer ${await this.#token(bearer, scopes, method, url)}`;
    }
    if (challenges.some((challenge) => challenge.scheme === "basic")) {
      const { username, password } = this.#credentials;
      // dockerd's words and status (a 401 would have the docker CLI prompt for a login).
      if (!username || !password) throw requestError(method, url, "no basic auth credentials");
      return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    }
    return undefined;
  }

  /** A token for these scopes from the challenge's realm (once per scope set). */
  async #token(challenge: Challenge, scopes: string[], method: string, url: string): Promise<string> {
    const key = scopes.join(" ");
    const cached = this.#tokens.get(key);
    if (cached) return cached;
    // Failures read as dockerd's: the request that needed the token, and why.
    const fail = (why: string, kind: ErrorKind = "system") => requestError(method, url, why, kind);
    const realmText = challenge.parameters.realm;
    if (!realmText) throw fail("no realm specified for token auth challenge");
    let realm: URL;
    try {
      realm = new URL(realmText);
    } catch {
      throw fail("invalid token auth challenge realm");
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") throw fail(`invalid token auth challenge realm: unsupported scheme ${realm.protocol}`);
    const { username, password } = this.#credentials;
    const refreshToken = this.#refreshToken;
    const sendsSecrets = Boolean(refreshToken || (username && password));
    if (sendsSecrets && realm.protocol === "http:" && !isLoopbackHost(realm.host) && !isLoopbackHost(this.host)) {
      throw fail(`refusing to send credentials to the token server ${realm.origin} over plain HTTP`);
    }
    const service = challenge.parameters.service ?? "";
    let response: Response;
    if (refreshToken) {
      // OAuth2 refresh (docker/distribution's fetchTokenWithOAuth).
      const form = new URLSearchParams({ client_id: CLIENT_ID, grant_type: "refresh_token", refresh_token: refreshToken, scope: key, service });
      const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded" });
      response = await this.#send("POST", realm.href, headers, form.toString(), { method, url });
    } else {
      const query = realm.searchParams;
      if (service) query.append("service", service);
      for (const scope of scopes) query.append("scope", scope);
      if (this.#login) {
        query.append("offline_token", "true");
        query.append("client_id", CLIENT_ID);
      }
      const headers = new Headers();
      if (username && password) {
        query.append("account", username);
        headers.set("Authorization", `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`);
      }
      response = await this.#send("GET", realm.href, headers, undefined, { method, url });
    }
    if (response.status < 200 || response.status >= 300) {
      const body = (await this.readBody(response, RESPONSE_LIMITS.error, method, url).catch(() => Buffer.alloc(0))).toString("utf8");
      const error = registryResponseError(response.status, response.headers, body);
      throw fail(error.message, this.#login && error.kind === "unauthorized" ? "unauthorized" : "system");
    }
    const body = await this.readBody(response, RESPONSE_LIMITS.token, method, url);
    let answer: { token?: unknown; access_token?: unknown; refresh_token?: unknown };
    try {
      answer = JSON.parse(body.toString("utf8")) as typeof answer;
    } catch {
      throw fail("unable to decode token response");
    }
    const token = typeof answer.access_token === "string" && answer.access_token ? answer.access_token : answer.token;
    if (typeof token !== "string" || token === "") throw fail("authorization server did not include a token in the response");
    if (/[\r\n]/.test(token)) throw fail("unable to decode token response");
    if (typeof answer.refresh_token === "string" && answer.refresh_token) this.#refreshToken = answer.refresh_token;
    this.#tokens.set(key, token);
    return token;
  }

  // --- transport -------------------------------------------------------------------

  /**
   * fetch with a timeout and redirects followed by hand. `report` is the
   * request a failure is reported against: for a token, the registry request
   * it was for (a token URL carries the account name).
   */
  async #send(method: string, url: string, headers: Headers, body?: string, report = { method, url }): Promise<Response> {
    let current = new URL(url);
    const origin = current.origin;
    for (let hop = 0; ; hop++) {
      let response: Response;
      try {
        response = await globalThis.fetch(current, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          redirect: "manual",
          signal: AbortSignal.any([this.#signal, AbortSignal.timeout(this.#timeoutMs)]),
        });
      } catch (error) {
        throw requestError(report.method, report.url, networkReason(error, current.host, this.#timeoutMs));
      }
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || !location || (method !== "GET" && method !== "HEAD")) return response;
      await discard(response);
      if (hop >= MAX_REDIRECTS) throw requestError(report.method, report.url, `stopped after ${MAX_REDIRECTS} redirects`, "upstream");
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw requestError(report.method, report.url, "redirect to an invalid location", "upstream");
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") throw requestError(report.method, report.url, `redirect to an unsupported scheme ${next.protocol}`, "upstream");
      if (current.protocol === "https:" && next.protocol === "http:") throw requestError(report.method, report.url, "redirect from HTTPS to plain HTTP refused", "upstream");
      // As Go's client: the registry's credentials stay with the registry.
      if (next.origin !== origin) headers.delete("Authorization");
      current = next;
    }
  }
}

/** The body of a response, at most limit bytes (more is refused, and the transfer stopped). */
export async function readBounded(response: Response, limit: number, method: string, url: string, host: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > limit) {
    await discard(response);
    throw requestError(method, url, `response of ${declared} bytes is larger than the ${limit} bytes allowed`, "upstream");
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        void reader.cancel().catch(() => {});
        throw requestError(method, url, `response is larger than the ${limit} bytes allowed`, "upstream");
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw requestError(method, url, networkReason(error, host, timeoutMs));
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, size);
}

/**
 * Lets go of a response whose body is not wanted. Not awaited: cancelling
 * closes the connection's stream at once, and waiting on it gains nothing (a
 * tee'd body, as msw's, only settles when its other branch is read).
 */
export async function discard(response: Response): Promise<void> {
  if (response.body && !response.bodyUsed) void response.body.cancel().catch(() => {});
}
