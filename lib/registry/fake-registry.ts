/**
 * An in-memory registry (and token server) for tests: a fetch-style handler
 * (Request → Response) that msw serves at the registry's origin. It speaks
 * just enough of the distribution API for the daemon's own registry calls —
 * /v2/, manifests (HEAD/GET), blobs, _catalog — with no auth, Basic auth or
 * the Bearer token flow, and records every request it gets.
 */
import { createHash } from "node:crypto";

export interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | null;
  accept: string | null;
  body: string;
}

export type FakeAuth =
  | { kind: "none" }
  | { kind: "basic"; username: string; password: string }
  | {
      kind: "bearer";
      /** Where the token server answers, e.g. https://auth.example.com/token. */
      realm: string;
      service: string;
      username: string;
      password: string;
      /** Handed out when asked for offline access; accepted as a refresh_token grant. */
      refreshToken?: string;
    };

interface StoredManifest {
  mediaType: string;
  bytes: Buffer;
  digest: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const json = (value: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(value), { status, headers: { "Content-Type": "application/json", ...headers } });

const errors = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json({ errors: [{ code, message, detail: null }] }, status, { "Docker-Distribution-API-Version": "registry/2.0", ...headers });

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export class FakeRegistry {
  readonly requests: RecordedRequest[] = [];
  readonly tokenRequests: RecordedRequest[] = [];
  readonly #manifests = new Map<string, Map<string, StoredManifest>>();
  readonly #blobs = new Map<string, Buffer>();
  /** Catalog page size (the registry's own `n` cap). */
  catalogPageSize = 100;
  /** Where blob GETs are redirected to (a storage origin), when set. */
  blobRedirect?: string;
  /** HEAD answers without Docker-Content-Digest (some registries do). */
  headWithoutDigest = false;

  constructor(
    /** http://127.0.0.1:5000 */
    readonly origin: string,
    readonly auth: FakeAuth = { kind: "none" },
  ) {}

  get host(): string {
    return new URL(this.origin).host;
  }

  addBlob(bytes: Buffer): Descriptor {
    const digest = sha256(bytes);
    this.#blobs.set(digest, bytes);
    return { mediaType: "application/octet-stream", digest, size: bytes.length };
  }

  /** Stores a manifest under its digest and, when given, a tag. */
  addManifest(repository: string, tag: string | undefined, mediaType: string, document: unknown): Descriptor {
    const bytes = Buffer.from(JSON.stringify(document));
    const stored = { mediaType, bytes, digest: sha256(bytes) };
    const references = this.#manifests.get(repository) ?? new Map<string, StoredManifest>();
    references.set(stored.digest, stored);
    if (tag) references.set(tag, stored);
    this.#manifests.set(repository, references);
    return { mediaType, digest: stored.digest, size: bytes.length };
  }

  /** An OCI image (config + one layer) for a platform. */
  addImage(repository: string, tag: string | undefined, platform: { architecture: string; os: string; variant?: string }): Descriptor {
    const layer = this.addBlob(Buffer.from(`layer of ${repository}:${tag} ${platform.architecture}`));
    const config = this.addBlob(Buffer.from(JSON.stringify({ ...platform, rootfs: { type: "layers", diff_ids: [layer.digest] } })));
    return this.addManifest(repository, tag, "application/vnd.oci.image.manifest.v1+json", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { ...config, mediaType: "application/vnd.oci.image.config.v1+json" },
      layers: [{ ...layer, mediaType: "application/vnd.oci.image.layer.v1.tar" }],
    });
  }

  repositories(): string[] {
    return [...this.#manifests.keys()].sort();
  }

  // --- serving ---------------------------------------------------------------------

  async #record(request: Request, into: RecordedRequest[]): Promise<RecordedRequest> {
    const entry = {
      method: request.method,
      url: request.url,
      authorization: request.headers.get("authorization"),
      accept: request.headers.get("accept"),
      body: request.method === "POST" ? await request.text() : "",
    };
    into.push(entry);
    return entry;
  }

  #challenge(): Record<string, string> {
    if (this.auth.kind === "basic") return { "WWW-Authenticate": 'Basic realm="fake-registry"' };
    if (this.auth.kind === "bearer") return { "WWW-Authenticate": `Bearer realm="${this.auth.realm}",service="${this.auth.service}"` };
    return {};
  }

  #authorized(authorization: string | null): boolean {
    switch (this.auth.kind) {
      case "none":
        return true;
      case "basic":
        return authorization === `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
      case "bearer":
        return authorization?.startsWith("Bearer token-") ?? false;
    }
  }

  /** The token server (the bearer realm). */
  async token(request: Request): Promise<Response> {
    const entry = await this.#record(request, this.tokenRequests);
    if (this.auth.kind !== "bearer") return new Response("no token server here", { status: 404 });
    const url = new URL(request.url);
    const form = new URLSearchParams(entry.body);
    const basic = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString("base64")}`;
    const byPassword = request.method === "GET" && entry.authorization === basic;
    const byRefresh = request.method === "POST" && form.get("grant_type") === "refresh_token" && form.get("refresh_token") === this.auth.refreshToken;
    if (!byPassword && !byRefresh) return json({ details: "incorrect username or password" }, 401);
    const scope = (request.method === "GET" ? url.searchParams.getAll("scope").join(" ") : form.get("scope")) ?? "";
    const offline = url.searchParams.get("offline_token") === "true" || byRefresh;
    return json({
      token: `token-${scope}`,
      access_token: `token-${scope}`,
      expires_in: 300,
      ...(offline && this.auth.refreshToken ? { refresh_token: this.auth.refreshToken } : {}),
    });
  }

  /** The registry API. */
  async handle(request: Request): Promise<Response> {
    const entry = await this.#record(request, this.requests);
    const url = new URL(request.url);
    const path = url.pathname;
    const head = request.method === "HEAD";
    if (!this.#authorized(entry.authorization)) {
      return errors(401, "UNAUTHORIZED", "authentication required", this.#challenge());
    }
    if (path === "/v2/" || path === "/v2") return json({}, 200, { "Docker-Distribution-API-Version": "registry/2.0" });
    if (path === "/v2/_catalog") {
      const all = this.repositories();
      const n = Math.min(Number(url.searchParams.get("n") ?? this.catalogPageSize) || this.catalogPageSize, this.catalogPageSize);
      const last = url.searchParams.get("last");
      const start = last ? all.findIndex((name) => name > last) : 0;
      const page = start === -1 ? [] : all.slice(start, start + n);
      const more = start !== -1 && start + n < all.length;
      return json({ repositories: page }, 200, more ? { Link: `</v2/_catalog?last=${encodeURIComponent(page.at(-1)!)}&n=${n}>; rel="next"` } : {});
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (manifest) {
      const stored = this.#manifests.get(manifest[1]!)?.get(decodeURIComponent(manifest[2]!));
      if (!stored) return head ? new Response(null, { status: 404 }) : errors(404, "MANIFEST_UNKNOWN", "manifest unknown");
      const headers: Record<string, string> = { "Content-Type": stored.mediaType, "Content-Length": String(stored.bytes.length) };
      if (!(head && this.headWithoutDigest)) headers["Docker-Content-Digest"] = stored.digest;
      return new Response(head ? null : new Uint8Array(stored.bytes), { status: 200, headers });
    }
    const blob = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
    if (blob) {
      const bytes = this.#blobs.get(blob[2]!);
      if (!bytes) return errors(404, "BLOB_UNKNOWN", "blob unknown to registry");
      if (this.blobRedirect) return new Response(null, { status: 307, headers: { Location: `${this.blobRedirect}/${blob[2]}` } });
      return new Response(new Uint8Array(bytes), { status: 200, headers: { "Content-Type": "application/octet-stream" } });
    }
    return errors(404, "NAME_UNKNOWN", "repository name not known to registry");
  }

  /** What the blob redirect target serves. */
  async storage(request: Request): Promise<Response> {
    await this.#record(request, this.requests);
    const digest = new URL(request.url).pathname.split("/").pop()!;
    const bytes = this.#blobs.get(digest);
    return bytes ? new Response(new Uint8Array(bytes)) : new Response(null, { status: 404 });
  }
}
