/**
 * POST /build and POST /build/prune in Docker's terms: the query parameters of
 * the classic builder API checked and translated, nerdctl's (BuildKit's plain
 * progress) output turned into the `{"stream": …}` messages the classic
 * builder sends, and buildctl's prune records into dockerd's report.
 */
import { badParameter, describeValue, notImplemented } from "../errors.ts";
import type { BuildOptions, PrunedRecord, PruneOptions } from "../nerdctl/build.ts";
import { Filters, parseFilterTime, parseGoDuration } from "./filters.ts";
import { errorMessage, type JSONMessage } from "./progress.ts";
import { familiarString, type ImageReference, parseNormalizedNamed, referenceString, shortId, tagNameOnly } from "../reference.ts";

// --- parameters ----------------------------------------------------------------------------

/** What a build does, checked: the build's options, where its Dockerfile is, and how much it says. */
export interface BuildRequest extends BuildOptions {
  /** Relative to the context's root. */
  dockerfile: string;
  quiet: boolean;
}

/** A JSON query parameter, parsed; null when absent, empty or `null`. */
function jsonParam(name: string, raw: string | null): unknown {
  if (raw === null || raw === "" || raw === "null") return null;
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw badParameter(`error reading ${name}: ${(error as Error).message}`);
  }
}

/** A JSON object of strings (`labels`); `null` or empty is none. */
function jsonStringMap(name: string, raw: string | null, allowNull: boolean): [string, string | null][] {
  const parsed = jsonParam(name, raw);
  if (parsed === null) return [];
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw badParameter(`error reading ${name}: expected a JSON object`);
  const entries = Object.entries(parsed as Record<string, unknown>);
  for (const [key, value] of entries) {
    if (typeof value === "string") continue;
    if (value === null && allowNull) continue;
    throw badParameter(`error reading ${name}: the value of ${describeValue(key)} is not a string`);
  }
  return entries as [string, string | null][];
}

/** A JSON array of strings (`cachefrom`). */
function jsonStringList(name: string, raw: string | null): string[] {
  const parsed = jsonParam(name, raw);
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== "string")) throw badParameter(`error reading ${name}: expected a JSON array of strings`);
  return parsed as string[];
}

const BUILD_ARG_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;
const LABEL_KEY = /^[^\s=\0-\x1f\x7f-][^=\0-\x1f\x7f]{0,254}$/;
const STAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const PLATFORM = /^[a-z0-9][a-z0-9_.-]{0,63}(?:\/[a-z0-9][a-z0-9_.-]{0,63}){0,2}$/i;
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/;
const HOST_ADDRESS = /^(?:host-gateway|[0-9.]{7,15}|\[?[0-9A-Fa-f:.]{2,45}\]?)$/;

function freeValue(name: string, key: string, value: string): string {
  if (value.includes("\0")) throw badParameter(`invalid ${name} ${describeValue(key)}: the value contains a NUL character`);
  return value;
}

/** A build tag (`t`): a name, `:latest` when it has no tag; never a digest (dockerd's words). */
export function buildTag(value: string): ImageReference {
  const ref = parseNormalizedNamed(value);
  if (ref.digest) throw badParameter("build tag cannot contain a digest");
  return tagNameOnly(ref);
}

/** `host:ip` (the docker CLI's `--add-host`), `host=ip` accepted as well. */
export function extraHost(value: string): string {
  const match = /^([^:=]+)[:=](.+)$/.exec(value);
  if (!match || !HOST_NAME.test(match[1]!) || !HOST_ADDRESS.test(match[2]!)) throw badParameter(`invalid extra host ${describeValue(value)}: expected host:ip`);
  return `${match[1]}:${match[2]!.replace(/^\[(.*)\]$/, "$1")}`;
}

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && !["", "0", "false", "False", "FALSE"].includes(value);
}

/**
 * Reads and checks POST /build's query: 400 for a value that cannot be used
 * (before anything is read or run), 501 for what nerdctld's builder cannot do.
 * Accepted and ignored, as BuildKit has no use for them: rm, forcerm (no
 * intermediate containers), shmsize, cachefrom (BuildKit imports cache from a
 * registry, the classic builder from local images; the local build cache does
 * that here), memory, cpu*, cgroupparent, ulimits, securityopt, isolation,
 * squash, outputs.
 */
export function parseBuildQuery(query: URLSearchParams): BuildRequest {
  const version = query.get("version");
  if (version === "2") {
    throw notImplemented(
      "BuildKit builds through POST /build (builder version 2) are not supported by nerdctld: build with buildx (docker build runs it from docker CLI 23 on) or with the classic builder (DOCKER_BUILDKIT=0)",
    );
  }
  if (version && version !== "1") throw badParameter(`unsupported builder version ${describeValue(version)}`);
  if (query.get("remote")) throw notImplemented("remote build contexts (a URL or git repository) are not supported by nerdctld: send the context as a tar archive");

  const dockerfile = query.get("dockerfile") || "Dockerfile";
  if (dockerfile.includes("\0")) throw badParameter("invalid dockerfile: contains a NUL character");

  const tags: ImageReference[] = [];
  for (const value of query.getAll("t")) {
    if (value === "") continue;
    const ref = buildTag(value);
    if (!tags.some((seen) => referenceString(seen) === referenceString(ref))) tags.push(ref);
  }

  const buildArgs: [string, string][] = [];
  for (const [key, value] of jsonStringMap("build args", query.get("buildargs"), true)) {
    if (!BUILD_ARG_NAME.test(key)) throw badParameter(`invalid build arg name ${describeValue(key)}`);
    // null: declared without a value, so the Dockerfile's default applies (never the daemon's environment).
    if (value !== null) buildArgs.push([key, freeValue("build arg", key, value)]);
  }

  const labels: [string, string][] = [];
  for (const [key, value] of jsonStringMap("labels", query.get("labels"), false)) {
    if (!LABEL_KEY.test(key)) throw badParameter(`invalid label key ${describeValue(key)}`);
    labels.push([key, freeValue("label", key, value ?? "")]);
  }

  const target = query.get("target") || undefined;
  if (target !== undefined && !STAGE_NAME.test(target)) throw badParameter(`invalid target stage name ${describeValue(target)}`);

  const platform = query.get("platform") || undefined;
  if (platform !== undefined && !PLATFORM.test(platform)) throw badParameter(`invalid platform ${describeValue(platform)}: expected os[/arch[/variant]]`);

  let network: BuildRequest["network"];
  const networkMode = query.get("networkmode") || "default";
  if (networkMode === "host" || networkMode === "none") network = networkMode;
  else if (networkMode !== "default" && networkMode !== "bridge") {
    throw badParameter(`network mode ${describeValue(networkMode)} is not supported for builds by nerdctld: use default, host or none`);
  }

  const extraHosts = query
    .getAll("extrahosts")
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter(Boolean)
    .map(extraHost);

  // Checked though not used: a wrong value is still the client's mistake.
  for (const ref of jsonStringList("cache from", query.get("cachefrom"))) parseNormalizedNamed(ref);
  const shmsize = query.get("shmsize");
  if (shmsize && !/^\d+$/.test(shmsize)) throw badParameter(`invalid shmsize ${describeValue(shmsize)}`);

  return {
    dockerfile,
    tags,
    buildArgs,
    labels,
    ...(target ? { target } : {}),
    noCache: flag(query, "nocache"),
    pull: flag(query, "pull"),
    ...(platform ? { platform } : {}),
    ...(network ? { network } : {}),
    extraHosts,
    quiet: flag(query, "q"),
  };
}

// --- output -----------------------------------------------------------------------------------

/** One line of output, as the classic builder streams it. */
export function buildStreamMessage(line: string): JSONMessage {
  return { stream: `${line}\n` };
}

/** nerdctl's own log lines (logrus), which are not build output. */
export function isNerdctlLogLine(line: string): boolean {
  return /^time="[^"]*" level=\w+ msg=/.test(line);
}

/** The image id BuildKit reports (`#8 exporting config sha256:… done`), or undefined. */
export function exportedConfig(line: string): string | undefined {
  return /\bexporting config (sha256:[0-9a-f]{64})\b/.exec(line)?.[1];
}

/** What the client sees once the image is in the store: dockerd's classic lines. */
export function buildSucceededMessages(id: string, tags: readonly ImageReference[], quiet: boolean): JSONMessage[] {
  if (quiet) return [{ stream: `${id}\n` }];
  return [
    { aux: { ID: id } },
    { stream: `Successfully built ${shortId(id)}\n` },
    ...tags.map((tag) => ({ stream: `Successfully tagged ${familiarString(tag)}\n` })),
  ];
}

/**
 * Collects what explains a failed build: buildctl's last `error: …` line,
 * else nerdctl's own fatal message.
 */
export class BuildFailure {
  #buildkit: string | undefined;
  #nerdctl: string | undefined;

  line(line: string): void {
    const buildkit = /^error: (.+)$/.exec(line);
    if (buildkit) {
      this.#buildkit = buildkit[1]!;
      return;
    }
    const logged = /^time="[^"]*" level=(?:fatal|error) msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (logged) {
      try {
        this.#nerdctl = JSON.parse(`"${logged[1]}"`) as string;
      } catch {
        this.#nerdctl = logged[1]!;
      }
    }
  }

  /** The error message ending the stream; its code is the failed step's exit code, as the docker CLI exits with it. */
  message(exitCode: number): JSONMessage {
    const text = this.#buildkit ?? this.#nerdctl ?? `the build failed (nerdctl exited with status ${exitCode})`;
    const code = /exit code: (\d+)\s*$/.exec(text)?.[1];
    const message = errorMessage(text);
    return code && Number(code) > 0 ? { ...message, errorDetail: { code: Number(code), message: text } } : message;
  }
}

// --- prune ----------------------------------------------------------------------------------

export const BUILD_PRUNE_FILTERS = ["until", "unused-for", "id", "parent", "type", "description", "inuse", "shared", "private"] as const;

function oneValue(filters: Filters, key: string): string | undefined {
  const values = filters.values(key);
  if (values.length > 1) throw badParameter(`filters expect only one value ('${key}' has ${values.length})`);
  return values[0];
}

/** A value in a BuildKit filter: bare when plain, Go-quoted otherwise. */
function filterValue(value: string): string {
  return /^[A-Za-z0-9_.:\/-]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * POST /build/prune's parameters as buildctl prune takes them, the way dockerd
 * hands them to BuildKit: `until` as the keep duration (a Go duration, or a
 * time), the cache-record filters joined into one expression.
 */
export function parseBuildPruneQuery(query: URLSearchParams, now: number = Date.now()): PruneOptions {
  const raw = query.get("filters");
  const filters = Filters.parse(raw ?? undefined, BUILD_PRUNE_FILTERS);
  const request: PruneOptions = { all: flag(query, "all") };

  const keep = query.get("keep-storage");
  if (keep !== null && keep !== "") {
    if (!/^\d+$/.test(keep)) throw badParameter(`keep-storage is in bytes and expects an integer, got ${keep}`);
    request.keepStorage = Number(keep);
  }

  if (filters.has("until") && filters.has("unused-for")) throw badParameter(`conflicting filters: "until" and "unused-for"`);
  const untilKey = filters.has("unused-for") ? "unused-for" : "until";
  const until = oneValue(filters, untilKey);
  if (until !== undefined) {
    const duration = parseGoDuration(until);
    if (duration !== undefined) request.keepDurationMs = duration;
    else {
      try {
        request.keepDurationMs = Math.max(0, now - parseFilterTime(until, now));
      } catch {
        throw badParameter(`"${untilKey}" filter expects a duration (e.g., '24h') or a time: ${describeValue(until)}`);
      }
    }
    if (request.keepDurationMs < 0) throw badParameter(`"${untilKey}" filter expects a positive duration: ${describeValue(until)}`);
  }

  const conditions: string[] = [];
  const id = oneValue(filters, "id");
  if (id !== undefined) {
    if (!/^[a-z0-9]+$/i.test(id)) throw badParameter(`invalid filter 'id=${id}'`);
    conditions.push(`id~=${id}`);
  }
  const parent = oneValue(filters, "parent");
  if (parent !== undefined) {
    if (!/^[a-z0-9]+$/i.test(parent)) throw badParameter(`invalid filter 'parent=${parent}'`);
    // BuildKit names the field `parents` (dockerd's `parent` matches nothing there).
    conditions.push(`parents~=${parent}`);
  }
  const type = oneValue(filters, "type");
  if (type !== undefined) {
    if (!/^[a-z][a-z0-9.]*$/.test(type)) throw badParameter(`invalid filter 'type=${type}'`);
    conditions.push(`type==${type}`);
  }
  const description = oneValue(filters, "description");
  if (description !== undefined) {
    if (/[\0-\x1f]/.test(description)) throw badParameter("invalid filter 'description': control characters");
    conditions.push(`description==${filterValue(description)}`);
  }
  let shared: boolean | undefined;
  for (const key of ["inuse", "shared", "private"] as const) {
    if (!filters.contains(key)) continue;
    const value = oneValue(filters, key);
    const on = value === undefined || value === "" ? true : filters.bool(key)!;
    if (key === "inuse") {
      // prune never removes a record in use: `inuse` leaves nothing to prune, `inuse=false` changes nothing.
      if (on) conditions.push("inuse");
      continue;
    }
    const wantsShared = key === "shared" ? on : !on;
    if (shared !== undefined && shared !== wantsShared) throw badParameter("conflicting filters: shared and private");
    shared = wantsShared;
  }
  if (shared !== undefined) conditions.push(shared ? "shared" : "private");
  if (conditions.length > 0) request.filter = conditions.join(",");
  return request;
}

export interface BuildCachePruneReport {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** What buildctl removed as dockerd reports it (`null` when nothing went, as dockerd answers). */
export function buildPruneReport(records: PrunedRecord[]): BuildCachePruneReport {
  return {
    CachesDeleted: records.length > 0 ? records.map((record) => record.id) : null,
    SpaceReclaimed: records.reduce((total, record) => total + record.size, 0),
  };
}
