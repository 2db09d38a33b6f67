/**
 * Image transfer as Docker shows it: the parameters of pull, push (its
 * credentials among them), save, import and commit checked before anything
 * runs, and nerdctl's failures (its message, already read from its stderr) in
 * dockerd's words and statuses.
 */
import { ApiError, badParameter, describeValue, noSuch, notFound, notImplemented } from "../errors.ts";
import { errorMessage, streamMessage, type JSONMessage } from "./progress.ts";
import { decodeRegistryAuth, type RegistryAuth } from "./registry-auth.ts";
import {
  assertImageName,
  assertTag,
  DEFAULT_DOMAIN,
  familiarize,
  familiarName,
  familiarString,
  imageReference,
  pullReference,
  referenceString,
  repositoryTag,
  splitReference,
  tagNameOnly,
  tagOrDigest,
  type ImageReference,
} from "../reference.ts";

// --- parameters ---------------------------------------------------------------------

/**
 * A push's credentials: X-Registry-Auth, or (dockerd's fallback for old
 * clients) the AuthConfig as the JSON body; none at all is refused.
 */
export function pushAuth(header: string | undefined, body: string | undefined): RegistryAuth | undefined {
  if (header) return decodeRegistryAuth(header);
  const auth = body?.trim() ? decodeRegistryAuth(Buffer.from(body).toString("base64")) : undefined;
  if (auth === undefined) throw badParameter("Bad parameters and missing X-Registry-Auth: EOF");
  return auth;
}

/** `os[/arch[/variant]]`, containerd's platform syntax. */
export function platformSpec(value: string): string {
  if (/^[a-z0-9][a-z0-9_.-]{0,63}(?:\/[a-z0-9][a-z0-9_.-]{0,63}){0,2}$/i.test(value)) return value;
  throw badParameter(`invalid platform: ${describeValue(value)}`);
}

/** Free text (commit message, author, comment): passed as `--flag=value`, so only NUL is refused. */
export function freeText(name: string, value: string): string {
  if (value.includes("\0")) throw badParameter(`invalid ${name}: contains a NUL character`);
  return value;
}

/** Where `nerdctl import` reads from: the request body (`-`) or an http(s) URL. */
export function importSource(value: string): string {
  if (value === "-") return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badParameter(`fromSrc must be "-" (the request body) or an http(s) URL, not ${describeValue(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw badParameter(`fromSrc: unsupported URL scheme ${describeValue(url.protocol)}`);
  return url.href;
}

/** POST /images/create's query, as sent (empty values as absent). */
export interface ImageCreateQuery {
  fromImage?: string;
  fromSrc?: string;
  repo?: string;
  tag?: string;
  message?: string;
  platform?: string;
  changes: string[];
  /** The X-Registry-Auth header. */
  registryAuth?: string;
}

export interface PullRequest {
  reference: ImageReference;
  platform?: string;
  auth?: RegistryAuth;
}

export interface PushRequest {
  /** With its tag. */
  reference: ImageReference;
  auth?: RegistryAuth | undefined;
}

export interface ImportRequest {
  /** `-` (the request body) or an http(s) URL. */
  source: string;
  reference?: ImageReference;
  message?: string;
  platform?: string;
  changes: string[];
}

export type ImageCreateRequest = ({ kind: "pull" } & PullRequest) | ({ kind: "import" } & ImportRequest);

/** POST /images/create: a pull (`fromImage`) or an import of a root filesystem tarball (`fromSrc`), checked. */
export function parseImageCreate(query: ImageCreateQuery): ImageCreateRequest {
  const platform = query.platform ? platformSpec(query.platform) : undefined;
  if (query.fromImage) {
    const reference = pullReference(imageReference(query.fromImage), query.tag === undefined ? undefined : tagOrDigest(query.tag));
    // As dockerd: unreadable credentials mean an anonymous pull.
    const auth = decodeRegistryAuth(query.registryAuth ?? "");
    return { kind: "pull", reference, ...(platform ? { platform } : {}), ...(auth ? { auth } : {}) };
  }
  if (query.fromSrc) {
    return {
      kind: "import",
      source: importSource(query.fromSrc),
      ...(query.repo ? { reference: repositoryTag(query.repo, query.tag) } : {}),
      ...(query.message ? { message: freeText("message", query.message) } : {}),
      ...(platform ? { platform } : {}),
      changes: query.changes,
    };
  }
  throw badParameter("either fromImage (pull) or fromSrc (import) is required");
}

/** nerdctl import applies no changes: say so before it runs. */
export function assertNoImportChanges(changes: string[]): void {
  if (changes.length === 0) return;
  throw notImplemented(`changes are not supported for import: nerdctl import cannot apply ${changes.map((change) => JSON.stringify(change)).join(", ")}`);
}

/** What POST /images/{name}/push pushes: the name with the tag asked for, or its own, or latest; never a digest. */
export function pushReference(name: string, tag: string | undefined): ImageReference {
  const ref = imageReference(name);
  if (ref.digest !== undefined) throw badParameter("cannot push a digest reference: push a tag");
  return { domain: ref.domain, path: ref.path, tag: tag ? assertTag(tag) : (ref.tag ?? "latest") };
}

/** The images of a save (GET /images/get's `names`), each once; at least one. */
export function saveNames(values: string[]): string[] {
  const names = values.filter(Boolean).map(assertImageName);
  if (names.length === 0) throw badParameter("no image names given: use names=<image> (repeatable)");
  return [...new Set(names)];
}

/** POST /commit's query, as sent. */
export interface CommitQuery {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes: string[];
  pause: boolean;
}

export interface CommitRequest {
  reference?: ImageReference;
  comment?: string;
  author?: string;
  changes: string[];
  pause: boolean;
}

/** POST /commit's options, checked; the container is the engine's to check. */
export function parseCommit(query: CommitQuery): CommitRequest {
  return {
    ...(query.repo ? { reference: repositoryTag(query.repo, query.tag) } : {}),
    ...(query.comment ? { comment: freeText("comment", query.comment) } : {}),
    ...(query.author ? { author: freeText("author", query.author) } : {}),
    changes: assertCommitChanges(query.changes),
    pause: query.pause,
  };
}

/**
 * `changes` for commit: nerdctl applies CMD and ENTRYPOINT only. Anything
 * else would be dropped or refused by nerdctl: say so before it runs.
 */
export function assertCommitChanges(changes: string[]): string[] {
  for (const change of changes) {
    if (/[\0\r\n]/.test(change)) throw badParameter(`invalid change ${JSON.stringify(change)}: one Dockerfile instruction per change`);
    const directive = /^\s*(\S+)/.exec(change)?.[1]?.toUpperCase();
    if (directive !== "CMD" && directive !== "ENTRYPOINT") {
      throw badParameter(
        `${directive ? directive.toLowerCase() : JSON.stringify(change)} is not a supported change command: nerdctl commit applies only CMD and ENTRYPOINT`,
      );
    }
  }
  return changes;
}

// --- failures -----------------------------------------------------------------------

/** nerdctl's message without its "failed to resolve image: " style wrapping. */
function transferMessage(message: string): string {
  return message.replace(/^failed to resolve (?:image|reference)(?: "[^"]*")?: /, "");
}

function isUnauthorized(message: string): boolean {
  return /\b401 Unauthorized\b|\bunauthorized\b/i.test(message);
}

/**
 * A pull that failed before any progress (nothing sent yet): dockerd answers
 * with a status code. Unknown manifests are 404 in dockerd's words; auth and
 * network failures are 500, as dockerd reports them.
 */
export function pullError(nerdctlMessage: string, ref: ImageReference): ApiError {
  const message = transferMessage(nerdctlMessage);
  if (/: not found$|manifest unknown|\bnot found\b/.test(message) && !/no such host|connection refused/.test(message)) {
    return notFound(`manifest for ${familiarString(ref)} not found: manifest unknown: manifest unknown`);
  }
  if (/no basic auth credentials/.test(message)) return new ApiError("system", `Head "${manifestUrl(ref)}": no basic auth credentials`);
  if (isUnauthorized(message)) return new ApiError("system", "unauthorized: authentication required");
  return new ApiError("system", message);
}

/** The manifest URL dockerd names in its auth errors (plain HTTP for loopback registries, as nerdctl uses). */
function manifestUrl(ref: ImageReference): string {
  const host = ref.domain === DEFAULT_DOMAIN ? "registry-1.docker.io" : ref.domain;
  const scheme = /^(?:localhost|127(?:\.\d+){3}|\[::1\])(?::\d+)?$/.test(host) ? "http" : "https";
  return `${scheme}://${host}/v2/${ref.path}/manifests/${ref.digest ?? ref.tag ?? "latest"}`;
}

/** A push failure, written into the stream that already started (dockerd's in-band error). */
export function pushErrorMessage(nerdctlMessage: string, ref: ImageReference): JSONMessage {
  const message = transferMessage(nerdctlMessage);
  if (/^image "[^"]*": not found$/.test(message) || /unable to resolve image to manifest/.test(message)) {
    return errorMessage(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  }
  if (/no basic auth credentials/.test(message)) return errorMessage("no basic auth credentials");
  if (isUnauthorized(message) || /push access denied/.test(message)) return errorMessage("unauthorized: authentication required");
  return errorMessage(message);
}

/** What `docker load` prints for each image loaded. */
export function loadedMessages(names: string[]): JSONMessage[] {
  return names.map((name) => streamMessage(`Loaded image: ${familiarize(name)}\n`));
}

/** A load nerdctl refused: a broken, truncated or empty archive. */
export function loadErrorMessage(nerdctlMessage: string): JSONMessage {
  return errorMessage(`Error processing tar file: ${nerdctlMessage}`);
}

/** An import nerdctl refused (nothing sent yet: dockerd answers 500). */
export function importError(message: string): ApiError {
  if (/unexpected EOF|tar|archive|gzip|invalid/i.test(message)) return new ApiError("system", `Error processing tar file: ${message}`);
  return new ApiError("system", message);
}

/**
 * A save that failed before any byte of the archive: `No such image: <name>`
 * with the name as the client sent it, when nerdctl names a missing image.
 */
export function saveError(message: string, names: string[]): ApiError {
  const missing = /image "([^"]+)": not found/.exec(message)?.[1];
  if (missing) {
    const asSent = names.find((name) => sameImage(name, missing)) ?? familiarize(missing);
    return noSuch("image", asSent);
  }
  if (/not found|no such image/i.test(message)) return notFound(message);
  return new ApiError("system", message);
}

/** A name as containerd spells it: `busybox` is `docker.io/library/busybox:latest`. */
export function containerdName(name: string): string {
  return referenceString(tagNameOnly(splitReference(name)));
}

function sameImage(requested: string, reported: string): boolean {
  if (requested === reported) return true;
  if (/^(?:sha256:)?[0-9a-f]{12,64}$/.test(requested)) return reported.includes(requested.replace(/^sha256:/, ""));
  return containerdName(requested) === reported;
}
