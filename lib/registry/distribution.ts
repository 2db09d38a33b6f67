/**
 * GET /distribution/{name}/json: what the registry says a reference is, as
 * dockerd answers it: the manifest's descriptor, and the platforms it serves
 * (an index's entries, or a single manifest's config).
 */
import { ApiError, badParameter, describeValue } from "../errors.ts";
import { digestOf, discard, MANIFEST_MEDIA_TYPES, mediaTypeOf, RegistryClient, RESPONSE_LIMITS, type RegistryCredentials } from "./client.ts";
import { registryApiHost } from "./endpoint.ts";
import { isImageReference, splitReference } from "../reference.ts";

export interface OciPlatform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
}

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number; urls?: string[] };
  Platforms: OciPlatform[];
}

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const MANIFEST_TYPES = new Set(["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"]);
const SCHEMA1_TYPES = new Set(["application/vnd.docker.distribution.manifest.v1+prettyjws", "application/vnd.docker.distribution.manifest.v1+json"]);
const DIGEST_RE = /^(sha256|sha384|sha512):[0-9a-f]{32,128}$/;

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** An OCI platform as ocispec.Platform marshals it (optional fields omitted when empty). */
export function platformOf(value: unknown): OciPlatform {
  const source = (value && typeof value === "object" ? value : {}) as Record<string, unknown>;
  const platform: OciPlatform = { architecture: text(source.architecture), os: text(source.os) };
  if (text(source["os.version"])) platform["os.version"] = text(source["os.version"]);
  const features = source["os.features"];
  if (Array.isArray(features) && features.length > 0 && features.every((feature) => typeof feature === "string")) platform["os.features"] = features as string[];
  if (text(source.variant)) platform.variant = text(source.variant);
  return platform;
}

interface Manifest {
  mediaType?: unknown;
  schemaVersion?: unknown;
  manifests?: { platform?: unknown }[];
  config?: { digest?: unknown };
  architecture?: unknown;
}

/** The manifest's media type: its own field, else the registry's Content-Type, else its shape. */
function manifestMediaType(manifest: Manifest, contentType: string): string {
  if (typeof manifest.mediaType === "string" && manifest.mediaType) return manifest.mediaType;
  if (contentType && contentType !== "application/json" && contentType !== "text/plain") return contentType;
  if (manifest.schemaVersion === 1) return "application/vnd.docker.distribution.manifest.v1+prettyjws";
  if (Array.isArray(manifest.manifests)) return "application/vnd.oci.image.index.v1+json";
  return "application/vnd.oci.image.manifest.v1+json";
}

export interface DistributionOptions {
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The reference, checked before any request: dockerd's 400s (and its answer to an image ID). */
export function distributionReference(name: string) {
  if (/^(?:sha256:)?[0-9a-f]{64}$/.test(name)) throw badParameter("no manifest found for full image ID");
  if (!isImageReference(name)) throw badParameter(`invalid reference format: ${describeValue(name)}`);
  return splitReference(name);
}

export async function inspectDistribution(name: string, options: DistributionOptions = {}): Promise<DistributionInspect> {
  const ref = distributionReference(name);
  const client = new RegistryClient({
    host: registryApiHost(ref.domain),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const repository = ref.path;
  const scopes = [`repository:${repository}:pull`];
  const manifestPath = (reference: string) => `/v2/${repository}/manifests/${reference}`;

  let digest = ref.digest;
  let size = 0;
  let payload: Buffer | undefined;
  let contentType = "";
  if (digest === undefined) {
    // As dockerd: HEAD the tag for its digest; GET it when HEAD says nothing (or to read the error).
    const tag = ref.tag ?? "latest";
    const path = manifestPath(tag);
    const url = `${client.baseUrl}${path}`;
    const head = await client.request({ method: "HEAD", path, scopes, accept: MANIFEST_MEDIA_TYPES });
    await discard(head);
    const headDigest = head.headers.get("docker-content-digest") ?? "";
    if (head.ok && DIGEST_RE.test(headDigest)) {
      digest = headDigest;
      size = Number(head.headers.get("content-length") ?? "") || 0;
    } else {
      const get = await client.request({ method: "GET", path, scopes, accept: MANIFEST_MEDIA_TYPES });
      if (!get.ok) throw await client.responseError(get, "GET", url);
      contentType = mediaTypeOf(get.headers.get("content-type"));
      payload = await client.readBody(get, RESPONSE_LIMITS.manifest, "GET", url);
      const declared = get.headers.get("docker-content-digest") ?? "";
      digest = DIGEST_RE.test(declared) ? declared : digestOf(payload)!;
    }
  }
  if (payload === undefined) {
    const path = manifestPath(digest);
    const url = `${client.baseUrl}${path}`;
    const get = await client.request({ method: "GET", path, scopes, accept: MANIFEST_MEDIA_TYPES });
    if (!get.ok) throw await client.responseError(get, "GET", url);
    contentType = mediaTypeOf(get.headers.get("content-type"));
    payload = await client.readBody(get, RESPONSE_LIMITS.manifest, "GET", url);
  }
  const actual = digestOf(payload, digest.split(":")[0]);
  if (actual !== undefined && actual !== digest) {
    throw new ApiError("upstream", `manifest verification failed for digest ${digest}: ${client.host} sent content with digest ${actual}`);
  }

  let manifest: Manifest;
  try {
    manifest = JSON.parse(payload.toString("utf8")) as Manifest;
  } catch {
    throw new ApiError("upstream", `the manifest ${digest} from ${client.host} is not JSON`);
  }
  if (!manifest || typeof manifest !== "object") throw new ApiError("upstream", `the manifest ${digest} from ${client.host} is not a JSON object`);
  const mediaType = manifestMediaType(manifest, contentType);

  const platforms: OciPlatform[] = [];
  if (INDEX_TYPES.has(mediaType) && Array.isArray(manifest.manifests)) {
    for (const entry of manifest.manifests) platforms.push(platformOf(entry?.platform));
  } else if (MANIFEST_TYPES.has(mediaType)) {
    // The config's platform; dockerd leaves Platforms empty when the config cannot be read.
    const configDigest = text(manifest.config?.digest);
    if (DIGEST_RE.test(configDigest)) {
      try {
        const config = JSON.parse((await client.blob(repository, configDigest, RESPONSE_LIMITS.config)).toString("utf8")) as unknown;
        const platform = platformOf(config);
        if (platform.os || platform.architecture) platforms.push(platform);
      } catch (error) {
        if (options.signal?.aborted) throw error;
      }
    }
  } else if (SCHEMA1_TYPES.has(mediaType)) {
    platforms.push({ architecture: text(manifest.architecture), os: "linux" });
  }
  return { Descriptor: { mediaType, digest, size: size || payload.length }, Platforms: platforms };
}
