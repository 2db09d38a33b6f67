// Side by side with dockerd: the same requests to both daemons, their JSON compared by shape (which
// keys, which value types) rather than by value, since ids, counts and versions differ by nature.
// A client written against dockerd reads fields by name and type; a field nerdctld lacks, or sends
// with another type, is what breaks it.
import { request } from "node:http";
import { join } from "node:path";
import { docker } from "./docker-cli.ts";
import { writeBusyboxImage } from "./images.ts";

export type ShapeType = "null" | "boolean" | "number" | "string" | "array" | "object";

export type DifferenceKind =
  /** dockerd has the field, nerdctld does not. */
  | "missing"
  /** nerdctld has a field dockerd does not. */
  | "extra"
  /** Both have it, with different JSON types. */
  | "type"
  /** A value both should agree on (a header) differs. */
  | "value"
  /** nerdctld answers another status (or the CLI fails) where dockerd succeeds. */
  | "status"
  /** nerdctld answers 501: the endpoint is not there yet. */
  | "not-implemented";

export interface ShapeDifference {
  /** Dotted field path: `Server.Components[Name=Engine].Details`, `[]` for an array's first element, `*` for a map's values. */
  path: string;
  kind: DifferenceKind;
  dockerd: string;
  nerdctld: string;
}

export interface Difference extends ShapeDifference {
  /** Which request or command it was seen in, e.g. `GET /info`. */
  check: string;
}

export interface ShapeOptions {
  /**
   * Arrays whose elements are matched by a key field rather than by position, by path:
   * `{ Components: "Name" }`. An element on one side only is a difference (`Components[Name=x]`).
   */
  keyedArrays?: Readonly<Record<string, string>>;
  /**
   * Lists whose elements are paired by a key (`Id`, `Names.0`), by path (`""` for the document):
   * every pair present on both sides is compared, elements on one side only are content, not shape,
   * and are skipped. With no pair in common, the first elements are compared.
   */
  matchElementsBy?: Readonly<Record<string, string>>;
  /** Object fields whose keys are data (labels, runtimes, networks): their values are compared, not their keys. */
  mapFields?: readonly string[];
}

/**
 * Fields whose keys are names chosen by users or daemons, not API fields: what matters is the shape
 * of their values. Only applied where the value is an object (`Containers` is a count in /info).
 */
export const MAP_FIELDS = [
  "Annotations",
  "Containers",
  "DriverOpts",
  "ExposedPorts",
  "IndexConfigs",
  "Labels",
  "Networks",
  "Options",
  "Ports",
  "Runtimes",
  "Volumes",
] as const;

export function shapeOf(value: unknown): ShapeType {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "boolean":
    case "number":
    case "string":
      return typeof value as ShapeType;
    default:
      return "object";
  }
}

function join2(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/**
 * Every shape difference between dockerd's document and nerdctld's, sorted by path. A field
 * missing or typed differently is reported once, not once per field below it.
 */
export function diffShapes(dockerd: unknown, nerdctld: unknown, options: ShapeOptions = {}): ShapeDifference[] {
  const keyed = options.keyedArrays ?? {};
  const paired = options.matchElementsBy ?? {};
  const maps = new Set<string>(options.mapFields ?? MAP_FIELDS);
  const found: ShapeDifference[] = [];

  const walk = (left: unknown, right: unknown, path: string, field: string | undefined): void => {
    const [leftType, rightType] = [shapeOf(left), shapeOf(right)];
    if (leftType !== rightType) {
      found.push({ path, kind: "type", dockerd: leftType, nerdctld: rightType });
      return;
    }
    if (leftType === "array") {
      const [leftItems, rightItems] = [left as unknown[], right as unknown[]];
      const key = keyed[path];
      const pairs = paired[path] === undefined ? [] : pairsByKey(leftItems, rightItems, paired[path]);
      if (key !== undefined) {
        walkKeyed(leftItems, rightItems, path, key);
      } else if (pairs.length > 0) {
        for (const [leftItem, rightItem] of pairs) walk(leftItem, rightItem, `${path}[]`, undefined);
      } else if (leftItems.length > 0 && rightItems.length > 0) {
        // An empty array on either side says nothing about its elements' shape.
        walk(leftItems[0], rightItems[0], `${path}[]`, undefined);
      }
      return;
    }
    if (leftType !== "object") return;
    const [leftObject, rightObject] = [left as Record<string, unknown>, right as Record<string, unknown>];
    if (field !== undefined && maps.has(field)) {
      const first = (object: Record<string, unknown>) => object[Object.keys(object).sort()[0] ?? ""];
      if (Object.keys(leftObject).length > 0 && Object.keys(rightObject).length > 0) {
        walk(first(leftObject), first(rightObject), join2(path, "*"), undefined);
      }
      return;
    }
    const keys = [...new Set([...Object.keys(leftObject), ...Object.keys(rightObject)])].sort();
    for (const name of keys) {
      const child = join2(path, name);
      if (!(name in rightObject)) found.push({ path: child, kind: "missing", dockerd: shapeOf(leftObject[name]), nerdctld: "absent" });
      else if (!(name in leftObject)) found.push({ path: child, kind: "extra", dockerd: "absent", nerdctld: shapeOf(rightObject[name]) });
      else walk(leftObject[name], rightObject[name], child, name);
    }
  };

  const walkKeyed = (left: unknown[], right: unknown[], path: string, key: string): void => {
    const byKey = (items: unknown[]) =>
      new Map(items.map((item) => [String((item as Record<string, unknown> | null)?.[key]), item] as const));
    const [leftItems, rightItems] = [byKey(left), byKey(right)];
    for (const name of [...new Set([...leftItems.keys(), ...rightItems.keys()])].sort()) {
      const child = `${path}[${key}=${name}]`;
      if (!rightItems.has(name)) found.push({ path: child, kind: "missing", dockerd: shapeOf(leftItems.get(name)), nerdctld: "absent" });
      else if (!leftItems.has(name)) found.push({ path: child, kind: "extra", dockerd: "absent", nerdctld: shapeOf(rightItems.get(name)) });
      else walk(leftItems.get(name), rightItems.get(name), child, undefined);
    }
  };

  walk(dockerd, nerdctld, "", undefined);
  // Paired elements report the same difference once each: keep one per path and kind.
  const unique = new Map(found.map((difference) => [`${difference.path}\u0000${difference.kind}`, difference]));
  return [...unique.values()].sort(compareDifferences);
}

/** `Names.0` of an element: dotted fields and array indexes. */
function valueAt(item: unknown, keyPath: string): unknown {
  return keyPath.split(".").reduce<unknown>((value, part) => (value as Record<string, unknown> | null | undefined)?.[part], item);
}

/** The elements of both lists with the same key, in key order (elements without a key are left out). */
function pairsByKey(left: unknown[], right: unknown[], keyPath: string): [unknown, unknown][] {
  const index = (items: unknown[]) => {
    const byKey = new Map<string, unknown>();
    for (const item of items) {
      const key = valueAt(item, keyPath);
      if ((typeof key === "string" || typeof key === "number") && !byKey.has(String(key))) byKey.set(String(key), item);
    }
    return byKey;
  };
  const [leftItems, rightItems] = [index(left), index(right)];
  return [...leftItems.keys()]
    .filter((key) => rightItems.has(key))
    .sort()
    .map((key) => [leftItems.get(key), rightItems.get(key)]);
}

function compareDifferences(a: { check?: string; path: string; kind: string }, b: { check?: string; path: string; kind: string }): number {
  return (
    (a.check ?? "").localeCompare(b.check ?? "") || a.path.localeCompare(b.path) || a.kind.localeCompare(b.kind)
  );
}

// ---------------------------------------------------------------------------------------------
// What each daemon said

/** One answer: an HTTP response, or a docker CLI run (status 0 for exit 0). */
export interface Observation {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface CheckResult {
  check: string;
  dockerd: Observation;
  nerdctld: Observation;
  /** How to compare: the JSON bodies by shape, or /_ping's headers. */
  compare: "json" | "ping";
  options?: ShapeOptions;
}

/** Headers that belong to the connection or the moment, not to the API. */
const TRANSPORT_HEADERS = new Set(["connection", "content-length", "date", "keep-alive", "transfer-encoding"]);
/** /_ping headers whose values a client acts on and which should be dockerd's (Api-Version is each daemon's own). */
export const PING_VALUE_HEADERS = ["builder-version", "cache-control", "content-type", "docker-experimental", "ostype", "pragma"];

/** Compares one check's two answers. Throws when dockerd itself failed: then the comparison means nothing. */
export function compareCheck(result: CheckResult): Difference[] {
  const { check, dockerd, nerdctld } = result;
  const succeeded = (observation: Observation) => observation.status === 200 || observation.status === 0;
  if (!succeeded(dockerd)) throw new Error(`${check}: dockerd answered ${dockerd.status}: ${dockerd.text.slice(0, 500)}`);
  if (!succeeded(nerdctld)) {
    const kind: DifferenceKind = nerdctld.status === 501 ? "not-implemented" : "status";
    return [{ check, path: "", kind, dockerd: String(dockerd.status), nerdctld: String(nerdctld.status) }];
  }
  if (result.compare === "ping") {
    const headerShape = (headers: Record<string, string>) =>
      Object.fromEntries(Object.keys(headers).filter((name) => !TRANSPORT_HEADERS.has(name)).map((name) => [name, "string"]));
    const differences: ShapeDifference[] = diffShapes(headerShape(dockerd.headers), headerShape(nerdctld.headers), { mapFields: [] });
    for (const name of PING_VALUE_HEADERS) {
      const [left, right] = [dockerd.headers[name], nerdctld.headers[name]];
      if (left !== undefined && right !== undefined && left !== right) differences.push({ path: name, kind: "value", dockerd: left, nerdctld: right });
    }
    if (dockerd.text !== nerdctld.text) differences.push({ path: "(body)", kind: "value", dockerd: dockerd.text, nerdctld: nerdctld.text });
    return differences.map((difference) => ({ check, ...difference })).sort(compareDifferences);
  }
  const parse = (side: string, observation: Observation): unknown => {
    try {
      return JSON.parse(observation.text);
    } catch {
      throw new Error(`${check}: ${side}'s answer is not JSON: ${observation.text.slice(0, 500)}`);
    }
  };
  return diffShapes(parse("dockerd", dockerd), parse("nerdctld", nerdctld), result.options).map((difference) => ({ check, ...difference }));
}

/** GET on a daemon's unix socket. */
export function get(dockerHost: string, path: string): Promise<Observation> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: dockerHost.replace(/^unix:\/\//, ""), path, timeout: 60_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = String(value);
        resolve({ status: res.statusCode ?? 0, headers, text });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer in 60 s`)));
    req.on("error", reject);
    req.end();
  });
}

/** A docker CLI command, as an observation: status is the exit code, text is stdout (stderr when it failed). */
export async function cli(cliPath: string, dockerHost: string, args: string[]): Promise<Observation> {
  const result = await docker(cliPath, dockerHost, args);
  return { status: result.exitCode, headers: {}, text: result.exitCode === 0 ? result.stdout : result.stderr };
}

/** The same API version for both daemons: the highest dockerd 20.10 serves. */
export const PARITY_API_VERSION = "1.41";

/** Components are compared by name: an engine component missing or added is a difference of its own. */
const VERSION_OPTIONS: ShapeOptions = { keyedArrays: { Components: "Name", "Server.Components": "Name" } };

export const API_CHECKS: readonly { check: string; path: string; compare: "json" | "ping"; options?: ShapeOptions }[] = [
  { check: "GET /_ping", path: "/_ping", compare: "ping" },
  { check: "GET /version", path: `/v${PARITY_API_VERSION}/version`, compare: "json", options: VERSION_OPTIONS },
  { check: "GET /info", path: `/v${PARITY_API_VERSION}/info`, compare: "json" },
  // Lists are compared element by element where both daemons have the same thing: the busybox image
  // (same archive, same id), the containers by name, the networks by name. A shared dockerd may list more.
  { check: "GET /images/json", path: `/v${PARITY_API_VERSION}/images/json`, compare: "json", options: { matchElementsBy: { "": "Id" } } },
  { check: "GET /containers/json", path: `/v${PARITY_API_VERSION}/containers/json`, compare: "json", options: { matchElementsBy: { "": "Names.0" } } },
  {
    check: "GET /containers/json?all=1",
    path: `/v${PARITY_API_VERSION}/containers/json?all=1`,
    compare: "json",
    options: { matchElementsBy: { "": "Names.0" } },
  },
  { check: "GET /volumes", path: `/v${PARITY_API_VERSION}/volumes`, compare: "json", options: { matchElementsBy: { Volumes: "Name" } } },
  { check: "GET /networks", path: `/v${PARITY_API_VERSION}/networks`, compare: "json", options: { matchElementsBy: { "": "Name" } } },
];

export const CLI_CHECKS: readonly { command: string; args: string[]; options?: ShapeOptions }[] = [
  { command: "docker version --format '{{json .}}'", args: ["version", "--format", "{{json .}}"], options: VERSION_OPTIONS },
  { command: "docker info --format '{{json .}}'", args: ["info", "--format", "{{json .}}"] },
];

/** Runs every check against both daemons. */
export async function observeBoth(
  hosts: { dockerd: string; nerdctld: string },
  clis: readonly { name: string; path: string }[],
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { check, path, compare, options } of API_CHECKS) {
    results.push({ check, compare, options, dockerd: await get(hosts.dockerd, path), nerdctld: await get(hosts.nerdctld, path) });
  }
  for (const client of clis) {
    for (const { command, args, options } of CLI_CHECKS) {
      results.push({
        check: `${client.name}: ${command}`,
        compare: "json",
        options,
        dockerd: await cli(client.path, hosts.dockerd, args),
        nerdctld: await cli(client.path, hosts.nerdctld, args),
      });
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// dockerd's side of the scenario

/** Marks what the parity suite made on a dockerd that may be shared, so it removes only its own. */
export const PARITY_LABEL = "org.nerdctld.e2e.parity";
const SCENARIO_NAMES = ["web", "done", "fresh"];

/**
 * Gives dockerd the scenario the daemon under test has: the same busybox archive loaded, and
 * `web` (running), `done` (exited), `fresh` (created). Returns the clean-up.
 */
export async function seedDockerd(cliPath: string, dockerHost: string, workDir: string): Promise<() => Promise<void>> {
  const run = async (...args: string[]) => {
    const result = await docker(cliPath, dockerHost, args);
    if (result.exitCode !== 0) throw new Error(`docker ${args.join(" ")} on dockerd failed: ${result.stderr}`);
    return result.stdout;
  };
  const removeOurs = async () => {
    const ours = (await run("ps", "--all", "--quiet", "--filter", `label=${PARITY_LABEL}`)).split("\n").filter(Boolean);
    if (ours.length > 0) await run("rm", "--force", ...ours);
  };
  await removeOurs();
  // A container of the same name that is not ours belongs to someone else using this engine.
  const names = (await run("ps", "--all", "--format", "{{.Names}}")).split("\n");
  const taken = SCENARIO_NAMES.filter((name) => names.includes(name));
  if (taken.length > 0) throw new Error(`dockerd at ${dockerHost} already has containers named ${taken.join(", ")}, not made by this suite`);

  const image = await writeBusyboxImage(join(workDir, "busybox.tar"));
  await run("load", "--input", image.path);
  const label = ["--label", `${PARITY_LABEL}=1`];
  await run("run", "--detach", "--name", "web", ...label, "busybox", "sleep", "3600");
  await run("run", "--name", "done", ...label, "busybox", "true");
  await run("create", "--name", "fresh", ...label, "busybox");
  return removeOurs;
}

// ---------------------------------------------------------------------------------------------
// Baseline and report

export interface BaselineEntry {
  check: string;
  path: string;
  kind: DifferenceKind;
  reason: string;
}

export interface Baseline {
  /** The dockerd the baseline was made against; another one will differ in other ways. */
  reference: string;
  differences: BaselineEntry[];
}

export interface Classified {
  accepted: (Difference & { reason: string })[];
  /** Differences not in the baseline: these fail the suite. */
  fresh: Difference[];
  /** Baseline entries no longer seen: fixed, or not reached on this machine. */
  stale: BaselineEntry[];
}

const keyOf = (entry: { check: string; path: string; kind: string }) => JSON.stringify([entry.check, entry.path, entry.kind]);

export function classify(differences: readonly Difference[], baseline: Baseline): Classified {
  const known = new Map(baseline.differences.map((entry) => [keyOf(entry), entry]));
  const seen = new Set<string>();
  const result: Classified = { accepted: [], fresh: [], stale: [] };
  for (const difference of [...differences].sort(compareDifferences)) {
    const key = keyOf(difference);
    seen.add(key);
    const entry = known.get(key);
    if (entry) result.accepted.push({ ...difference, reason: entry.reason });
    else result.fresh.push(difference);
  }
  result.stale = baseline.differences.filter((entry) => !seen.has(keyOf(entry))).sort(compareDifferences);
  return result;
}

function cell(text: string): string {
  return text === "" ? "" : `\`${text.replace(/\|/g, "\\|").replace(/`/g, "'")}\``;
}

/** The report: everything sorted, nothing about when it ran, so an unchanged result rewrites the same bytes. */
export function renderReport(classified: Classified, reference: string): string {
  const all = [
    ...classified.accepted.map((difference) => ({ ...difference, status: `accepted: ${difference.reason}` })),
    ...classified.fresh.map((difference) => ({ ...difference, status: "**NEW**" })),
  ].sort(compareDifferences);
  const lines = [
    "# Parity with dockerd",
    "",
    "Written by `e2e/parity.e2e.test.ts` (`npx vitest run --project e2e parity`); do not edit by hand.",
    "",
    `Reference daemon: ${reference}. The same requests go to dockerd and to nerdctld (raw API calls with`,
    `the \`/v${PARITY_API_VERSION}\` prefix, and each docker CLI's \`--format '{{json .}}'\` output), both seeded with the busybox`,
    "image and the containers `web` (running), `done` (exited) and `fresh` (created).",
    "",
    "Compared by shape: keys and JSON types; arrays by their first element, except version components (by `Name`)",
    "and the lists of images, containers, networks and volumes (every element both daemons have, paired by id or",
    "name); maps whose keys are names (`Labels`, `Runtimes`, …) by their values (`*`). Kinds: `missing` (dockerd has it,",
    "nerdctld does not), `extra` (nerdctld adds it), `type` (different JSON types), `value` (a header value clients",
    "act on), `not-implemented` (nerdctld answers 501), `status` (another failure).",
    "",
    `Differences: ${all.length} (${classified.accepted.length} accepted in \`e2e/parity-baseline.json\`, ${classified.fresh.length} NEW).`,
  ];
  const checks = [...new Set(all.map((difference) => difference.check))].sort();
  for (const check of checks) {
    lines.push("", `## ${check}`, "", "| path | kind | dockerd | nerdctld | status |", "| --- | --- | --- | --- | --- |");
    for (const difference of all.filter((entry) => entry.check === check)) {
      lines.push(
        `| ${cell(difference.path || "(endpoint)")} | ${difference.kind} | ${cell(difference.dockerd)} | ${cell(difference.nerdctld)} | ${difference.status.replace(/\|/g, "\\|")} |`,
      );
    }
  }
  if (classified.stale.length > 0) {
    lines.push("", "## Baseline entries not seen in this run", "", "Fixed, or not reached here: remove them from the baseline once fixed.", "");
    for (const entry of classified.stale) lines.push(`- ${entry.check} ${cell(entry.path || "(endpoint)")} ${entry.kind}`);
  }
  return `${lines.join("\n")}\n`;
}
