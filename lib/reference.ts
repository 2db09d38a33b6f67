import { badParameter, describeValue } from "./errors.ts";

/*
 * Image references, as github.com/distribution/reference parses, normalises
 * and prints them (`busybox` is `docker.io/library/busybox`), and the checks a
 * client's value passes before it reaches nerdctl's argv: Docker's grammar
 * admits no value that could be read as a flag, a path, or a control character.
 */

const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

/** Docker's reference grammar: groups name, tag, digest. */
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const DIGEST_RE = new RegExp(`^${DIGEST}$`);
const IMAGE_ID_RE = /^(?:sha256:)?[0-9a-f]{1,64}$/;
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const NAME_TOTAL_LENGTH_MAX = 255;

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";

/** A normalised reference: domain and path always set (`docker.io` + `library/busybox`), as containerd names images. */
export interface ImageReference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

// --- checks on what a client sends ---------------------------------------------------

/** An image reference (`name[:tag][@digest]`), as the Docker reference grammar defines it. */
export function isImageReference(value: string): boolean {
  const match = REFERENCE_RE.exec(value);
  return match !== null && match[1]!.length <= NAME_TOTAL_LENGTH_MAX;
}

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** An image reference or an image id (full, short, or `sha256:`-prefixed). */
export function assertImageName(value: string): string {
  if (isImageReference(value) || IMAGE_ID_RE.test(value)) return value;
  throw badParameter(`invalid reference format: ${describeValue(value)}`);
}

export function assertTag(value: string): string {
  if (TAG_RE.test(value)) return value;
  throw badParameter(`invalid tag format: ${describeValue(value)}`);
}

/** An image reference from the client (`name[:tag][@digest]`), parsed; 400 when it is not one. */
export function imageReference(value: string): ImageReference {
  if (!isImageReference(value)) throw badParameter(`invalid reference format: ${describeValue(value)}`);
  return splitReference(value);
}

/** A repository and optional tag (import, commit): no digest, the tag parameter winning over one in the name. */
export function repositoryTag(repo: string, tag: string | undefined): ImageReference {
  const ref = imageReference(repo);
  if (ref.digest !== undefined) throw badParameter(`invalid reference format: ${describeValue(repo)} (a digest cannot be a target)`);
  if (tag) return { domain: ref.domain, path: ref.path, tag: assertTag(tag) };
  return ref.tag === undefined ? { ...ref, tag: "latest" } : ref;
}

/** The pull `tag` parameter: a tag or a digest. */
export function tagOrDigest(value: string): string {
  return isDigest(value) ? value : assertTag(value);
}

/**
 * The reference POST /images/create pulls: `fromImage` with the `tag`
 * parameter (which may be a digest) replacing its tag, as dockerd does. With
 * neither a tag nor a digest, dockerd pulls every tag; nerdctl cannot, so this
 * pulls `latest` (what the docker CLI asks for anyway).
 */
export function pullReference(fromImage: ImageReference, tag: string | undefined): ImageReference {
  const { domain, path } = fromImage;
  if (tag) return isDigest(tag) ? { domain, path, digest: tag } : { domain, path, tag };
  if (fromImage.tag === undefined && fromImage.digest === undefined) return { domain, path, tag: "latest" };
  return fromImage;
}

// --- dockerd's parsers, with dockerd's messages -------------------------------------

function checkDigest(digest: string): void {
  const [algorithm, hex] = digest.split(":") as [string, string];
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) throw badParameter("unsupported digest algorithm");
  if (hex.length !== length || !/^[0-9a-f]+$/.test(hex)) throw badParameter("invalid checksum digest length");
}

/** reference.ParseNormalizedNamed, with dockerd's messages for what it refuses (400). */
export function parseNormalizedNamed(value: string): ImageReference {
  if (IDENTIFIER_RE.test(value)) {
    throw badParameter(`invalid repository name (${value}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDomain(value);
  const colon = remainder.indexOf(":");
  const remoteName = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remoteName.toLowerCase() !== remoteName) throw badParameter("invalid reference format: repository name must be lowercase");
  const text = `${domain}/${remainder}`;
  const match = REFERENCE_RE.exec(text);
  if (!match) {
    if (value === "") throw badParameter("repository name must have at least one component");
    if (REFERENCE_RE.test(text.toLowerCase())) throw badParameter("invalid reference format: repository name must be lowercase");
    throw badParameter("invalid reference format");
  }
  if (match[1]!.length > NAME_TOTAL_LENGTH_MAX) {
    throw badParameter(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (match[3]) checkDigest(match[3]);
  return { domain, path: match[1]!.slice(domain.length + 1), tag: match[2], digest: match[3] };
}

/** What a client may name an image by: a reference, or an image id (a digest). */
export type AnyReference = { kind: "digest"; digest: string } | { kind: "named"; ref: ImageReference };

/** reference.ParseAnyReference: a 64-hex id or `sha256:<hex>` is an id, anything else a name. */
export function parseAnyReference(value: string): AnyReference {
  if (IDENTIFIER_RE.test(value)) return { kind: "digest", digest: `sha256:${value}` };
  if (/^[a-z0-9]+:[0-9a-f]+$/.test(value)) {
    const [algorithm, hex] = value.split(":") as [string, string];
    const length = DIGEST_HEX_LENGTH[algorithm];
    if (length !== undefined && hex.length === length) return { kind: "digest", digest: value };
  }
  return { kind: "named", ref: parseNormalizedNamed(value) };
}

/** Checks an image name or id a client sent, before anything runs (400 when it cannot be one). */
export function checkImageName(value: string): string {
  parseAnyReference(value);
  return value;
}

/**
 * The reference POST /images/{name}/tag creates from `repo` and `tag`
 * (httputils.RepoTagReference), refused with dockerd's 400 messages.
 */
export function tagReference(repo: string, tag: string): ImageReference {
  if (repo === "") throw badParameter("repository name must have at least one component");
  const ref = parseNormalizedNamed(repo);
  if (ref.digest) throw badParameter("refusing to create a tag with a digest reference");
  if (tag !== "" && !TAG_RE.test(tag)) throw badParameter("invalid tag format");
  const tagged: ImageReference = { domain: ref.domain, path: ref.path, tag: tag || ref.tag || "latest" };
  if (familiarName(tagged) === "sha256") throw badParameter("refusing to create an ambiguous tag using digest algorithm as name");
  return tagged;
}

// --- taking apart and printing -------------------------------------------------------

/** `busybox` → docker.io + library/busybox; a first component with `.` or `:`, `localhost` or capitals is a domain. */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  let domain = DEFAULT_DOMAIN;
  let remainder = name;
  if (slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first)) {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = `library/${remainder}`;
  return [domain, remainder];
}

/** Takes apart a reference that is already known good (checked, or printed by the engine); never throws. */
export function splitReference(value: string): ImageReference {
  let rest = value;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const [domain, path] = splitDomain(rest);
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `docker.io/library/busybox` */
export const referenceName = (ref: ImageReference): string => `${ref.domain}/${ref.path}`;

/** `docker.io/library/busybox:latest`, as containerd names the image. */
export function referenceString(ref: ImageReference): string {
  return `${referenceName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** `busybox`, `someone/app`, `registry.k8s.io/pause`: the name as Docker prints it. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return referenceName(ref);
  const parts = ref.path.split("/");
  return parts.length === 2 && parts[0] === "library" ? parts[1]! : ref.path;
}

/** `busybox:latest` */
export function familiarString(ref: ImageReference): string {
  return `${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** A name containerd printed (`docker.io/library/busybox:latest`) as Docker prints it (`busybox:latest`). */
export function familiarize(name: string): string {
  return familiarString(splitReference(name));
}

/** Adds `:latest` to a bare name (reference.TagNameOnly). */
export function tagNameOnly(ref: ImageReference): ImageReference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: "latest" };
}

/** `sha256:bba85999f9ac…` → `bba85999f9ac` (stringid.TruncateID). */
export function shortId(id: string): string {
  return id.replace(/^[a-z0-9]+:/, "").slice(0, 12);
}
