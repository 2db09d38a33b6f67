/**
 * Image transfer as Docker shows it: references the way dockerd prints them,
 * X-Registry-Auth, and nerdctl's pull/push progress and failures turned into
 * the JSON messages and errors dockerd sends for the same events.
 */
import { crc32 } from "node:zlib";
import { badParameter, ApiError, noSuch, notFound } from "../errors.ts";
import { nerdctlMessage } from "../nerdctl/errors.ts";
import {
  auxMessage,
  errorMessage,
  itemMessage,
  progressMessage,
  statusMessage,
  streamMessage,
  type JSONMessage,
} from "./progress.ts";
import { DEFAULT_DOMAIN, familiarize, familiarName, familiarString, type ImageReference, referenceName, referenceString, splitReference } from "../reference.ts";

// --- references ---------------------------------------------------------------------

/** The key docker login and every credential helper use for Docker Hub. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

// --- registry credentials -----------------------------------------------------------

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

/** Decodes X-Registry-Auth; undefined when it cannot be read (dockerd then pulls anonymously). */
export function decodeRegistryAuth(encoded: string): RegistryAuth | undefined {
  const trimmed = encoded.trim();
  if (!trimmed) return undefined;
  try {
    const json = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
    const value = JSON.parse(json) as unknown;
    if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
    const auth: RegistryAuth = {};
    for (const key of ["username", "password", "auth", "email", "serveraddress", "identitytoken", "registrytoken"] as const) {
      const field = (value as Record<string, unknown>)[key];
      if (typeof field === "string" && field !== "") auth[key] = field;
    }
    return auth;
  } catch {
    return undefined;
  }
}

/**
 * A docker config.json holding these credentials for the registry of the
 * reference (nerdctl reads it through DOCKER_CONFIG); undefined when the
 * header carried no credentials at all (`{}`, the docker CLI's anonymous case).
 */
export function dockerConfigFor(auth: RegistryAuth | undefined, domain: string): string | undefined {
  if (!auth) return undefined;
  const entry: Record<string, string> = {};
  if (auth.username !== undefined || auth.password !== undefined) {
    entry.auth = Buffer.from(`${auth.username ?? ""}:${auth.password ?? ""}`).toString("base64");
  } else if (auth.auth) {
    entry.auth = auth.auth;
  }
  if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
  if (auth.registrytoken) entry.registrytoken = auth.registrytoken;
  if (Object.keys(entry).length === 0) return undefined;
  const key = domain === DEFAULT_DOMAIN ? DOCKER_HUB_AUTH_KEY : domain;
  return `${JSON.stringify({ auths: { [key]: entry } })}\n`;
}

// --- nerdctl's progress output --------------------------------------------------------

const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;
const BINARY_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** containerd's progress.Bytes (`16.9 MiB`, `0.0 B`, truncated `1023.9 K`) back to a byte count. */
export function parseProgressBytes(text: string): number | undefined {
  const match = /^\s*([\d.]+)\s*([KMGTP]?)/.exec(text);
  if (!match) return undefined;
  const value = Number.parseFloat(match[1]!);
  return Number.isFinite(value) ? Math.round(value * BINARY_UNITS[match[2]!]!) : undefined;
}

/** One row of a progress table, whatever its layout. */
interface ProgressRow {
  kind: "layer" | "manifest" | "index" | "config" | "other";
  /** Hex digits of the blob digest the row names (possibly truncated by nerdctl's 40-column names). */
  hex: string;
  event: string;
  current?: number;
  total?: number;
}

/**
 * A row of the transfer service's tree (nerdctl pull): `   ├──layer-sha256:ab…\textracting \t|++--|\t16.9 MiB/64.0 MiB\t`.
 * Names are cut at 40 characters, tree prefix included: at least 18 hex digits survive.
 */
function parseTreeRow(line: string): ProgressRow | undefined {
  const fields = line.split("\t");
  if (fields.length < 2) return undefined;
  const name = fields[0]!.replace(/^[\s│├└─]+/u, "");
  const match = /^(layer|manifest|index|config)-(?:[^@\s]*@)?sha256:([0-9a-f]+)/.exec(name);
  if (!match) return undefined;
  const row: ProgressRow = { kind: match[1] as ProgressRow["kind"], hex: match[2]!, event: fields[1]!.trim() };
  const numbers = fields.slice(2).find((field) => field.includes("/") && !field.includes("|"));
  if (numbers) {
    const [current, total] = numbers.split("/");
    row.current = parseProgressBytes(current!);
    row.total = parseProgressBytes(total!);
  }
  return row;
}

/** A row of nerdctl's jobs table (nerdctl push): `layer-sha256:<hex>:   uploading   |--|   0.0 B/2.0 MiB`. */
function parseJobRow(line: string): ProgressRow | undefined {
  const match = /^(layer|manifest|index|config)-(?:[^@\s]*@)?sha256:([0-9a-f]{64}):\s+(\S+)\s+\|[^|]*\|\s*(?:(\S+ ?[A-Za-z]*)\/(\S+ ?[A-Za-z]*))?/.exec(line);
  if (!match) return undefined;
  return {
    kind: match[1] as ProgressRow["kind"],
    hex: match[2]!,
    event: match[3]!,
    ...(match[4] !== undefined ? { current: parseProgressBytes(match[4]), total: parseProgressBytes(match[5]!) } : {}),
  };
}

/** The media type and digest line the transfer service prints under its tree. */
const ROOT_DESCRIPTOR_RE = /^application\/\S+ (sha256:[0-9a-f]{64})\s*$/;

/** Docker shows layers by the first 12 hex digits of their digest. */
function shortId(hex: string): string {
  return hex.slice(0, 12);
}

/**
 * nerdctl pull's progress (containerd's transfer-service tree, one whole frame
 * per event) as dockerd's pull messages: one line per change of a layer's state.
 */
export class PullProgress {
  readonly #ref: ImageReference;
  readonly #layers = new Map<string, string>();
  #digest: string | undefined;

  constructor(ref: ImageReference) {
    this.#ref = ref;
  }

  /** The digest the reference resolved to (index or manifest), once nerdctl printed it. */
  get digest(): string | undefined {
    return this.#digest;
  }

  /** `v1: Pulling from busybox`: the reference resolved, layers follow. */
  start(): JSONMessage[] {
    return [statusMessage(`Pulling from ${familiarPath(this.#ref)}`, this.#ref.tag ?? this.#ref.digest)];
  }

  line(raw: string): JSONMessage[] {
    const line = raw.replace(ANSI_RE, "").replace(/\r$/, "");
    const root = ROOT_DESCRIPTOR_RE.exec(line);
    if (root) {
      this.#digest = root[1];
      return [];
    }
    const row = parseTreeRow(line);
    if (!row || row.kind !== "layer" || row.hex.length < 12) return [];
    const id = shortId(row.hex);
    const previous = this.#layers.get(id);
    const messages: JSONMessage[] = [];
    const set = (state: string, message: JSONMessage) => {
      this.#layers.set(id, state);
      messages.push(message);
    };
    if (previous === undefined && row.event !== "already exists") set("waiting", itemMessage("Pulling fs layer", id));
    switch (row.event) {
      case "waiting":
        break;
      case "downloading":
        if (row.current !== undefined && row.total !== undefined && this.#layers.get(id) !== `downloading ${row.current}`) {
          set(`downloading ${row.current}`, progressMessage("Downloading", id, row.current, row.total));
        }
        break;
      case "complete":
        if (this.#layers.get(id) !== "complete") set("complete", itemMessage("Download complete", id));
        break;
      case "extracting":
        if (row.current !== undefined && row.total !== undefined && this.#layers.get(id) !== `extracting ${row.current}`) {
          set(`extracting ${row.current}`, progressMessage("Extracting", id, row.current, row.total));
        }
        break;
      case "extracted":
        if (this.#layers.get(id) !== "done") set("done", itemMessage("Pull complete", id));
        break;
      case "already exists":
        if (previous === undefined) set("done", itemMessage("Already exists", id));
        break;
    }
    return messages;
  }

  /**
   * After nerdctl succeeded: layers it fetched without unpacking are complete,
   * then dockerd's `Digest:` and `Status:` lines. previousDigest is what the
   * name pointed at before the pull (undefined when it did not exist).
   */
  finish(previousDigest: string | undefined): JSONMessage[] {
    const messages: JSONMessage[] = [];
    for (const [id, state] of this.#layers) {
      if (state !== "done") messages.push(itemMessage("Pull complete", id));
      this.#layers.set(id, "done");
    }
    if (this.#digest) messages.push(statusMessage(`Digest: ${this.#digest}`));
    const upToDate = previousDigest !== undefined && previousDigest === this.#digest;
    messages.push(statusMessage(`Status: ${upToDate ? "Image is up to date" : "Downloaded newer image"} for ${familiarString(this.#ref)}`));
    return messages;
  }
}

/** `Pulling from library/busybox`: the repository path, without the registry. */
function familiarPath(ref: ImageReference): string {
  return ref.path;
}

/** What a finished push reports: the pushed manifest (or index) and its size in bytes. */
export interface PushResult {
  tag: string;
  digest: string;
  size?: number;
}

/**
 * nerdctl push's progress (nerdctl's jobs table, one frame every 100 ms) as
 * dockerd's push messages: Preparing, Pushing with progress, Pushed; then the
 * `<tag>: digest: … size: …` line and its aux record.
 */
export class PushProgress {
  readonly #ref: ImageReference;
  readonly #layers = new Map<string, string>();

  constructor(ref: ImageReference) {
    this.#ref = ref;
  }

  /** `The push refers to repository [127.0.0.1:5000/busybox]` */
  start(): JSONMessage[] {
    return [statusMessage(`The push refers to repository [${referenceName(this.#ref)}]`)];
  }

  line(raw: string): JSONMessage[] {
    const row = parseJobRow(raw.replace(ANSI_RE, "").trimEnd());
    if (!row || row.kind !== "layer") return [];
    const id = shortId(row.hex);
    const messages: JSONMessage[] = [];
    if (!this.#layers.has(id)) {
      this.#layers.set(id, "preparing");
      messages.push(itemMessage("Preparing", id));
    }
    const state = this.#layers.get(id);
    if (row.event === "uploading" && row.current !== undefined && row.total !== undefined && state !== `pushing ${row.current}`) {
      this.#layers.set(id, `pushing ${row.current}`);
      messages.push(progressMessage("Pushing", id, row.current, row.total));
    } else if (row.event === "done" && state !== "done") {
      this.#layers.set(id, "done");
      messages.push(itemMessage("Pushed", id));
    }
    return messages;
  }

  /** Every layer pushed, then the digest line and {Tag, Digest, Size}. */
  finish(result: PushResult): JSONMessage[] {
    const messages: JSONMessage[] = [];
    for (const [id, state] of this.#layers) if (state !== "done") messages.push(itemMessage("Pushed", id));
    const size = result.size === undefined ? "" : ` size: ${result.size}`;
    messages.push(statusMessage(`${result.tag}: digest: ${result.digest}${size}`));
    messages.push(auxMessage({ Tag: result.tag, Digest: result.digest, ...(result.size === undefined ? {} : { Size: result.size }) }));
    return messages;
  }
}

/** The digest nerdctl push logs before pushing: `pushing as a reduced-platform image (<media type>, sha256:…)`. */
export function pushedDigest(stderr: string): string | undefined {
  return /pushing as a reduced-platform image \([^,]+, (sha256:[0-9a-f]{64})\)/.exec(stderr)?.[1];
}

// --- failures -----------------------------------------------------------------------

/** nerdctl's message without its "failed to resolve image: " style wrapping. */
function transferMessage(stderr: string): string {
  return nerdctlMessage(stderr).replace(/^failed to resolve (?:image|reference)(?: "[^"]*")?: /, "");
}

function isUnauthorized(message: string): boolean {
  return /\b401 Unauthorized\b|\bunauthorized\b/i.test(message);
}

/**
 * A pull that failed before any progress (nothing sent yet): dockerd answers
 * with a status code. Unknown manifests are 404 in dockerd's words; auth and
 * network failures are 500, as dockerd reports them.
 */
export function pullError(stderr: string, ref: ImageReference): ApiError {
  const message = transferMessage(stderr);
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
export function pushErrorMessage(stderr: string, ref: ImageReference): JSONMessage {
  const message = transferMessage(stderr);
  if (/^image "[^"]*": not found$/.test(message) || /unable to resolve image to manifest/.test(message)) {
    return errorMessage(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  }
  if (/no basic auth credentials/.test(message)) return errorMessage("no basic auth credentials");
  if (isUnauthorized(message) || /push access denied/.test(message)) return errorMessage("unauthorized: authentication required");
  return errorMessage(message);
}

/** The names `nerdctl load` reports (`Loaded image: …`), each once, in order. */
export function loadedNames(stdout: string): string[] {
  const names: string[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^Loaded image: (\S+)\s*$/.exec(line.replace(ANSI_RE, ""));
    if (match && !names.includes(match[1]!)) names.push(match[1]!);
  }
  return names;
}

/** The extra record nerdctl 2.3 load makes for the archive's index: `import@sha256:<index>`. */
export function isImportRecord(name: string): boolean {
  return /^import@sha256:[0-9a-f]{64}$/.test(name);
}

/** What `docker load` prints for each image loaded. */
export function loadedMessages(names: string[]): JSONMessage[] {
  return names.map((name) => streamMessage(`Loaded image: ${familiarize(name)}\n`));
}

/** A load nerdctl refused: a broken, truncated or empty archive. */
export function loadErrorMessage(stderr: string): JSONMessage {
  return errorMessage(`Error processing tar file: ${nerdctlMessage(stderr)}`);
}

/** An import nerdctl refused (nothing sent yet: dockerd answers 500). */
export function importError(stderr: string): ApiError {
  const message = nerdctlMessage(stderr);
  if (/unexpected EOF|tar|archive|gzip|invalid/i.test(message)) return new ApiError("system", `Error processing tar file: ${message}`);
  return new ApiError("system", message);
}

/**
 * A save that failed before any byte of the archive: `No such image: <name>`
 * with the name as the client sent it, when nerdctl names a missing image.
 */
export function saveError(stderr: string, names: string[]): ApiError {
  const message = nerdctlMessage(stderr);
  const missing = /image "([^"]+)": not found/.exec(message)?.[1];
  if (missing) {
    const asSent = names.find((name) => sameImage(name, missing)) ?? familiarize(missing);
    return noSuch("image", asSent);
  }
  if (/not found|no such image/i.test(message)) return notFound(message);
  return new ApiError("system", message);
}

function sameImage(requested: string, reported: string): boolean {
  if (requested === reported) return true;
  if (/^(?:sha256:)?[0-9a-f]{12,64}$/.test(requested)) return reported.includes(requested.replace(/^sha256:/, ""));
  const wanted = splitReference(requested);
  return referenceString(wanted.tag === undefined && wanted.digest === undefined ? { ...wanted, tag: "latest" } : wanted) === reported;
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

// --- image archives -----------------------------------------------------------------

const TAR_BLOCK = 512;
const MAX_CAPTURED = 1024 * 1024;
const CAPTURED_FILES = new Set(["manifest.json", "index.json"]);

/**
 * Watches an image archive go by (a tar stream, in chunks): keeps only its
 * small index files, to name the images it holds (manifest.json's RepoTags,
 * index.json's image names), and notices whether the archive ends properly.
 * Memory stays bounded whatever the archive's size: layer bodies are counted,
 * never kept.
 *
 * It also keeps a fingerprint of what went by: a CRC-32 of every header and of
 * every body except the blobs'. A blob is named by its digest, so two archives
 * read to the same point with the same fingerprint hold the same bytes up to
 * it, and the check costs nothing per layer byte.
 */
export class ArchiveNames {
  #fingerprint = 0;
  /** The current entry is a content-addressed blob: its body stays out of the fingerprint. */
  #inBlob = false;
  #pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current entry's body still to come, then its padding. */
  #bodyLeft = 0;
  #paddingLeft = 0;
  #capture: { name: string; chunks: Buffer[]; size: number } | undefined;
  #ended = false;
  #zeroBlocks = 0;
  readonly #files = new Map<string, Buffer>();

  feed(chunk: Buffer): void {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = Buffer.alloc(0);
    while (data.length > 0 && !this.#ended) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, data.length);
        if (!this.#inBlob) this.#fingerprint = crc32(data.subarray(0, take), this.#fingerprint);
        if (this.#capture) this.#capture.chunks.push(Buffer.from(data.subarray(0, take)));
        this.#bodyLeft -= take;
        data = data.subarray(take);
        if (this.#bodyLeft === 0 && this.#capture) {
          this.#files.set(this.#capture.name, Buffer.concat(this.#capture.chunks));
          this.#capture = undefined;
        }
        continue;
      }
      if (this.#paddingLeft > 0) {
        const take = Math.min(this.#paddingLeft, data.length);
        this.#paddingLeft -= take;
        data = data.subarray(take);
        continue;
      }
      if (data.length < TAR_BLOCK) {
        this.#pending = Buffer.from(data);
        return;
      }
      this.#header(data.subarray(0, TAR_BLOCK));
      data = data.subarray(TAR_BLOCK);
    }
  }

  /** The end-of-archive marker (two zero blocks) went by: the archive is whole. */
  get complete(): boolean {
    return this.#ended;
  }

  /** What went by so far, headers and small files (see the class comment). */
  get fingerprint(): number {
    return this.#pending.length > 0 ? crc32(this.#pending, this.#fingerprint) : this.#fingerprint;
  }

  #header(block: Buffer): void {
    this.#fingerprint = crc32(block, this.#fingerprint);
    if (block.every((byte) => byte === 0)) {
      this.#zeroBlocks += 1;
      if (this.#zeroBlocks >= 2) this.#ended = true;
      return;
    }
    this.#zeroBlocks = 0;
    const text = (offset: number, length: number) => {
      const field = block.subarray(offset, offset + length);
      const end = field.indexOf(0);
      return field.subarray(0, end === -1 ? length : end).toString("utf8");
    };
    const sizeField = block.subarray(124, 136);
    const size =
      (sizeField[0]! & 0x80) !== 0
        ? Number(sizeField.subarray(1).reduce((total, byte) => total * 256n + BigInt(byte), 0n))
        : Number.parseInt(text(124, 12).trim() || "0", 8);
    const prefix = text(345, 155);
    const name = (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100)).replace(/^\.\//, "");
    const type = text(156, 1);
    this.#bodyLeft = size;
    this.#inBlob = name.startsWith("blobs/");
    this.#paddingLeft = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
    if ((type === "0" || type === "") && CAPTURED_FILES.has(name) && size <= MAX_CAPTURED) {
      this.#capture = { name, chunks: [], size };
      if (size === 0) this.#files.set(name, Buffer.alloc(0));
    }
  }

  /** The image names the archive declares, as containerd names them (`docker.io/library/busybox:latest`). */
  names(): string[] {
    const names: string[] = [];
    const add = (name: unknown) => {
      if (typeof name !== "string" || !name) return;
      try {
        const ref = splitReference(name);
        const full = referenceString(ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: "latest" } : ref);
        if (!names.includes(full)) names.push(full);
      } catch {
        // not a name
      }
    };
    try {
      const manifest = this.#files.get("manifest.json");
      if (manifest) for (const entry of JSON.parse(manifest.toString("utf8")) as { RepoTags?: unknown[] }[]) for (const tag of entry.RepoTags ?? []) add(tag);
    } catch {
      // unreadable: nerdctl will say what is wrong with the archive
    }
    try {
      const index = this.#files.get("index.json");
      if (index) {
        const parsed = JSON.parse(index.toString("utf8")) as { manifests?: { annotations?: Record<string, string> }[] };
        for (const manifest of parsed.manifests ?? []) add(manifest.annotations?.["io.containerd.image.name"]);
      }
    } catch {
      // as above
    }
    return names;
  }
}
