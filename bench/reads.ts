/**
 * Reads as the state nerdctld keeps answers them, next to plain nerdctl and
 * dockerd:
 *
 *   commands  `ps -a`, `images`, `volume ls`, `network ls`, `inspect C`,
 *             `image inspect busybox`, each timed from spawn to exit, the paths
 *             taking turns within each round (as the lifecycle's commands)
 *   growth    GET /containers/json?all=1 and GET /images/json on both daemons,
 *             and `nerdctl ps -a` / `nerdctl images`, with the namespace grown
 *             to each size in turn: p50 and the answer's size in bytes
 *   memory    nerdctld's RSS before the namespace grew and once its state
 *             holds the namespace grown further on nerdctld's engine alone (to
 *             1,000 containers and 500 images), and the state's records weighed
 *
 * Containers and images are added with plain nerdctl on nerdctld's engine (so
 * nerdctld learns of them from the engine's events, as of any change made
 * outside it) and with the docker CLI on dockerd: containers created one per
 * command, every other one then started in batches; everything the benchmark
 * added to dockerd is removed at the end, also when it fails, and nerdctld's
 * engine, the benchmark's own, goes whole with nerdctld.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { writeDistinctImages } from "../e2e/support/images.ts";
import { Nerdctl } from "../lib/nerdctl/client.ts";
import { RealRunner } from "../lib/runner/real.ts";
import { NamespaceState } from "../lib/service/state/namespace-state.ts";
import { clientsOf, describeCell, nerdctlCallLines, nerdctlCalls, plumb, readFrom, Samples, turn, type Client, type ClientPath, type ClientsPlan } from "./clients.ts";
import { measureCommand, measureHttp, type Latency, type LatencyBudget } from "./http-latency.ts";
import { listing } from "./http.ts";
import { quietRssKiB } from "./rss.ts";
import { EMPTY_NAMESPACE, freshDaemonMemory, type FreshDaemonMemory } from "./state-memory.ts";
import { median, timeCommand, type TransferCell, type WatchedDaemon } from "./transfer.ts";

/** Every container and image the benchmark adds carries this name (images: this repository). */
const PREFIX = "nerdctld-bench-reads";
/** The container `inspect` reads, running on both engines. */
const INSPECTED = PREFIX;
const IMAGE = "busybox";

/** The commands timed as a user runs them; the docker CLI and nerdctl take the same words. */
export const READ_COMMANDS = [
  { operation: "ps -a", args: ["ps", "-a"], shows: INSPECTED },
  { operation: "images", args: ["images"], shows: IMAGE },
  { operation: "volume ls", args: ["volume", "ls"], shows: "VOLUME NAME" },
  { operation: "network ls", args: ["network", "ls"], shows: "bridge" },
  { operation: "inspect <container>", args: ["inspect", INSPECTED], shows: INSPECTED },
  { operation: `image inspect ${IMAGE}`, args: ["image", "inspect", IMAGE], shows: "sha256:" },
] as const;
export type ReadOperation = (typeof READ_COMMANDS)[number]["operation"];

export type GrowthKind = "containers" | "images";

/** What nerdctl runs for the same listing, and the API path of it. */
export const GROWTH_READS: Record<GrowthKind, { path: string; nerdctlArgs: string[] }> = {
  containers: { path: "/v1.41/containers/json?all=1", nerdctlArgs: ["ps", "-a"] },
  images: { path: "/v1.41/images/json", nerdctlArgs: ["images"] },
};

/** One path's read at one size: its latency, and what it answered (bytes; items listed, or lines for nerdctl). */
export type GrowthCell =
  | { kind: "measured"; latency: Latency; bytes: number; count: number }
  | { kind: "failed"; message: string }
  | { kind: "n/a"; why: string };

/** How long nerdctld's state took to take in what was added, read by read. */
export type Settling =
  | { kind: "settled"; firstReadMs: number; fastReadMs: number; afterMs: number; reads: number }
  | { kind: "unsettled"; why: string };

/** The heap nerdctld's state code takes for the records of one kind, weighed in the benchmark's own process. */
export interface StateWeight {
  containers: { count: number; heapBytes: number };
  images: { count: number; heapBytes: number };
}

export interface GrowthRow {
  kind: GrowthKind;
  /** The size asked for: containers (or images) the namespace holds, the seeded ones included. */
  size: number;
  nerdctld: GrowthCell;
  dockerd: GrowthCell;
  nerdctl: GrowthCell;
  settling: Settling;
  /** nerdctl calls nerdctld's log shows while its cell was timed (0: every timed read answered from the state). */
  nerdctldCalls: number | null;
  /** Seconds each engine took to get the objects added for this row (absent where none were). */
  populateSeconds: Partial<Record<"nerdctl" | "dockerd", number>>;
}

/** VmRSS after a quiet moment, KiB; null when it could not be read. */
export interface QuietRss {
  nerdctld: number | null;
  dockerd: number | null;
}

/** What nerdctld's state listed: at the start, and once grown for the memory measurement. */
export interface HeldCounts {
  containers: number;
  images: number;
}

export interface MemoryResults {
  before: QuietRss;
  /** What nerdctld listed before the namespace grew. */
  heldBefore: HeldCounts | null;
  /** Once nerdctld's state held the memory measurement's namespace, and the seconds adding to it took (or why it did not). */
  grown: { rss: QuietRss; held: HeldCounts; addedSeconds: number } | { failed: string };
  /** The state's records of the grown namespace, weighed exactly (or why not). */
  weight: StateWeight | { failed: string };
  /** Two fresh nerdctlds, in an empty namespace and in the grown one (or why not). */
  fresh: { empty: FreshDaemonMemory; grown: FreshDaemonMemory } | { failed: string };
}

export interface ReadsResults {
  commands: { operation: ReadOperation; path: ClientPath; cell: TransferCell }[];
  /** nerdctl calls nerdctld's log shows for each timed run of a command through it. */
  nerdctldCalls: Partial<Record<ReadOperation, number[]>>;
  /** Containers and images each daemon listed while the commands ran. */
  commandsRanWith: Record<"nerdctld" | "dockerd", { containers: number; images: number } | null>;
  growth: GrowthRow[];
  memory: MemoryResults;
  parallel: number;
}

export interface ReadsPlan extends ClientsPlan {
  nerdctld: { dockerHost: string; socketPath: string; daemon: WatchedDaemon; logFile: string };
  dockerdSocket: string | null;
  rounds: number;
  /** The budget of each HTTP cell of the growth tables, and of each nerdctl cell. */
  http: LatencyBudget;
  command: LatencyBudget;
  containerSizes: number[];
  imageSizes: number[];
  /** What nerdctld's engine alone grows to, after the growth tables, for the memory measurement. */
  memorySize: HeldCounts;
  /** How many creations run at once on one engine. */
  parallel: number;
  /** The longest nerdctld's state may take to settle after a size was reached. */
  settleTimeoutMs: number;
  workDir: string;
}

/** The engines the benchmark adds objects to: plain nerdctl (nerdctld's engine) and dockerd. */
function enginesOf(clients: Client[]): Client[] {
  return clients.filter((client) => client.path !== "nerdctld");
}

/** Runs `work` on every item, at most `limit` at once; the first failure is thrown once all begun have ended. */
async function inPool<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}

/** Removes what the benchmark added to one engine (containers first: they hold the busybox image, not the bench images). */
async function removeFrom(client: Client, parallel: number): Promise<void> {
  const names = (await plumb(client, ["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter((name) => name.startsWith(PREFIX));
  await inPool(chunks(names, 25), parallel, (batch) => plumb(client, ["rm", "--force", ...batch]));
  const references = (await plumb(client, ["images", "--format", "{{.Repository}}:{{.Tag}}"]))
    .split("\n")
    .filter((reference) => reference.startsWith(`${PREFIX}:`));
  await inPool(chunks(references, 50), parallel, (batch) => plumb(client, ["rmi", "--force", ...batch]));
}

/**
 * Removes every container and image the benchmark added to dockerd; safe to
 * call again. nerdctld's engine is the benchmark's own and goes whole when
 * nerdctld stops (its tasks stopped, its directories removed): removing a
 * thousand containers one by one there takes nerdctl most of half an hour.
 */
export async function removeReadsObjects(plan: ClientsPlan & { parallel: number }): Promise<void> {
  const failures: string[] = [];
  for (const client of clientsOf(plan).filter((client) => client.path === "dockerd")) {
    await removeFrom(client, plan.parallel).catch((error: unknown) => failures.push((error as Error).message));
  }
  if (failures.length > 0) throw new Error(`removing the benchmark's containers and images: ${failures.join("; ")}`);
}

/**
 * Reads nerdctld's listing until its state has taken in what was added: the
 * listing holds what it should, and three reads in a row answered from the
 * state, with no nerdctl call in nerdctld's log while they ran (the first
 * reads after a change wait for nerdctl to inspect what changed).
 */
async function settle(nerdctld: ReadsPlan["nerdctld"], path: string, expected: number, timeoutMs: number): Promise<Settling> {
  const start = performance.now();
  const times: number[] = [];
  let fromState = 0;
  let count = -1;
  while (performance.now() - start < timeoutMs) {
    const from = (await stat(nerdctld.logFile)).size;
    // The first read after many changes waits for nerdctl to inspect them all: it may take the whole settle time.
    const read = await listing(nerdctld.socketPath, path, Math.max(1_000, timeoutMs - (performance.now() - start)));
    times.push(read.ms);
    count = read.count;
    // A call's line is written before the answer; the pause lets a late write land in this read's stretch.
    await sleep(50);
    fromState = nerdctlCalls(await readFrom(nerdctld.logFile, from)) === 0 ? fromState + 1 : 0;
    if (count === expected && fromState >= 3) {
      return { kind: "settled", firstReadMs: times[0]!, fastReadMs: median(times.slice(-3)), afterMs: performance.now() - start, reads: times.length };
    }
  }
  const last = times.slice(-3).map((ms) => ms.toFixed(0)).join(", ");
  return { kind: "unsettled", why: `after ${(timeoutMs / 1000).toFixed(0)} s: ${count} listed of ${expected}, the last reads ${last} ms, ${fromState} in a row from the state` };
}

/** Each daemon's VmRSS after 3 s without requests (see quietRssKiB). */
async function quietRss(pids: { nerdctld: number; dockerd: number | null }): Promise<QuietRss> {
  const [nerdctld, dockerd] = await quietRssKiB([pids.nerdctld, pids.dockerd]);
  return { nerdctld: nerdctld ?? null, dockerd: dockerd ?? null };
}

/** The heap in use after a full collection, in bytes; V8 lets a running process expose its collector. */
function collectedHeapBytes(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * What nerdctld's state code holds for the namespace as it is now, weighed in
 * this process: a fresh NamespaceState reads one kind as nerdctld's does, and
 * the heap is measured after a full collection before and after: the
 * containers once (a read of a thousand takes tens of seconds), the images
 * three times (the median), after one unweighed read of the images (which
 * loads the code every read runs). Exact where the daemon's RSS is coarse.
 */
async function weighState(nerdctl: ReadsPlan["nerdctl"]): Promise<StateWeight> {
  const client = new Nerdctl(new RealRunner({ binaries: { nerdctl: nerdctl.path }, env: nerdctl.env }));
  const read = async (kind: GrowthKind) => {
    const state = new NamespaceState(client, { subscribeGraceMs: 0, now: Date.now });
    state.streamStarted();
    const records = kind === "containers" ? await state.containers.all() : await state.imageRecords.current();
    if (!records) throw new Error(`the state read no ${kind}`);
    return { state, records };
  };
  // Every state read stays referenced here until the end, so each weighing's "before" holds the earlier ones and its difference is its own.
  const kept = [await read("images")];
  const weigh = async (kind: GrowthKind, times: number) => {
    const weighings: { count: number; heapBytes: number }[] = [];
    for (let i = 0; i < times; i++) {
      const before = collectedHeapBytes();
      kept.push(await read(kind));
      weighings.push({ count: kept.at(-1)!.records.length, heapBytes: collectedHeapBytes() - before });
    }
    return weighings.sort((a, b) => a.heapBytes - b.heapBytes)[Math.floor(times / 2)]!;
  };
  return { containers: await weigh("containers", 1), images: await weigh("images", 3) };
}

/** The commands of part 1 (all, or those named), on the namespace as it is. */
async function measureCommands(
  plan: ReadsPlan,
  clients: Client[],
  commands: readonly (typeof READ_COMMANDS)[number][] = READ_COMMANDS,
): Promise<Pick<ReadsResults, "commands" | "nerdctldCalls">> {
  const samples = new Samples<ReadOperation>();
  const calls: ReadsResults["nerdctldCalls"] = {};
  const failed = new Map<string, TransferCell>();
  const key = (operation: string, path: ClientPath) => `${operation}\t${path}`;
  // Round 0 runs each command untimed and checks what it printed: a command that exits 0 having shown nothing is a failure, not a fast run.
  for (const command of commands) {
    for (const client of clients) {
      const output = await plumb(client, [...command.args]).catch((error: unknown) => `\0${(error as Error).message}`);
      const problem = output.startsWith("\0") ? output.slice(1) : output.includes(command.shows) ? null : `its output does not show ${JSON.stringify(command.shows)}`;
      if (problem !== null) {
        plan.log(`reads: ${command.operation} via ${client.path} fails its check: ${problem}`);
        failed.set(key(command.operation, client.path), { kind: "failed", message: problem });
      }
    }
  }
  for (let round = 1; round <= plan.rounds; round++) {
    plan.log(`reads: command round ${round} of ${plan.rounds}`);
    for (const command of commands) {
      for (const client of turn(clients, round)) {
        const failure = failed.get(key(command.operation, client.path));
        const from = client.path === "nerdctld" ? (await stat(plan.nerdctld.logFile)).size : 0;
        const cell =
          failure ??
          (await timeCommand({ command: client.command, args: [...command.args], env: client.env, bytes: "stdout", daemon: null, timeoutMs: plan.timeoutMs }));
        samples.add(command.operation, client.path, cell);
        if (client.path === "nerdctld" && !failure) (calls[command.operation] ??= []).push(nerdctlCalls(await readFrom(plan.nerdctld.logFile, from)));
        if (cell.kind !== "measured" && !failure) plan.log(`reads: ${command.operation} via ${client.path}: ${describeCell(cell)}`);
      }
    }
  }
  return { commands: samples.rows(), nerdctldCalls: calls };
}

/** What one engine holds of a kind, as the benchmark counts it: what was there at the start, and what it added. */
interface EngineCount {
  client: Client;
  /** What the engine's daemon listed before anything was added (nerdctl: nerdctld's listing of its engine). */
  base: number;
  added: number;
  /** Why adding failed, once it did: every later size fails with it. */
  failure: string | null;
}

const nameOf = (index: number) => `${PREFIX}-${index}`;
const referenceOf = (index: number) => `${PREFIX}:${index}`;

/**
 * Adds containers `from`..`to`-1, created one per command with no network (so
 * none waits for CNI), then, when `halfRunning`, every other one started
 * running `sleep`, a batch of names per `start`.
 */
async function addContainers(client: Client, from: number, to: number, parallel: number, halfRunning: boolean): Promise<void> {
  const indexes = Array.from({ length: to - from }, (_, offset) => from + offset);
  await inPool(indexes, parallel, (index) => plumb(client, ["create", "--network", "none", "--name", nameOf(index), IMAGE, "sleep", "86400"]));
  if (!halfRunning) return;
  const running = indexes.filter((index) => index % 2 === 0).map(nameOf);
  await inPool(chunks(running, 25), parallel, (batch) => plumb(client, ["start", ...batch]));
}

/** Adds images `from`..`to`-1: one archive of distinct tiny images, loaded in one go. */
async function addImages(client: Client, from: number, to: number, workDir: string): Promise<void> {
  const references = Array.from({ length: to - from }, (_, offset) => referenceOf(from + offset));
  const archive = join(workDir, `reads-images-${from}-${to}.tar`);
  await writeDistinctImages(archive, references);
  await plumb(client, ["load", "--input", archive]);
}

/**
 * Grows one engine to `size` objects of a kind (containers half of them
 * running, or only created); the seconds it took, or null when nothing was
 * added (or adding failed before).
 */
async function grow(plan: ReadsPlan, kind: GrowthKind, count: EngineCount, size: number, halfRunning = true): Promise<number | null> {
  const wanted = size - count.base - count.added;
  if (count.failure !== null || wanted <= 0) return null;
  plan.log(`reads: ${count.client.path}: adding ${wanted} ${kind} (to ${size})`);
  const start = performance.now();
  try {
    if (kind === "containers") await addContainers(count.client, count.added, count.added + wanted, plan.parallel, halfRunning);
    else await addImages(count.client, count.added, count.added + wanted, plan.workDir);
    count.added += wanted;
    return (performance.now() - start) / 1000;
  } catch (error) {
    count.failure = `adding ${kind} failed: ${(error as Error).message.split("\n")[0]}`;
    plan.log(`reads: ${count.client.path}: ${count.failure}`);
    return null;
  }
}

/** Waits for nerdctld's state to hold what nerdctld's engine holds of a kind. */
async function settledOn(plan: ReadsPlan, kind: GrowthKind, engine: EngineCount, size: number, timeoutMs = plan.settleTimeoutMs): Promise<Settling> {
  if (engine.failure !== null) return { kind: "unsettled", why: engine.failure };
  const settling = await settle(plan.nerdctld, GROWTH_READS[kind].path, engine.base + engine.added, timeoutMs).catch(
    (error: unknown): Settling => ({ kind: "unsettled", why: (error as Error).message }),
  );
  plan.log(`reads: nerdctld ${kind} at ${size}: ${settling.kind === "settled" ? `settled after ${settling.afterMs.toFixed(0)} ms, first read ${settling.firstReadMs.toFixed(0)} ms` : settling.why}`);
  return settling;
}

/** One size of one kind: both engines grown to it, nerdctld's state settled, then every path measured. */
async function measureSize(
  plan: ReadsPlan,
  kind: GrowthKind,
  size: number,
  counts: EngineCount[],
): Promise<GrowthRow> {
  const read = GROWTH_READS[kind];
  const populateSeconds: GrowthRow["populateSeconds"] = {};
  for (const count of counts) {
    const seconds = await grow(plan, kind, count, size);
    if (seconds !== null) populateSeconds[count.client.path as "nerdctl" | "dockerd"] = seconds;
  }
  const [engine, reference] = counts;
  const nerdctlEngine = engine!;
  const settling = await settledOn(plan, kind, nerdctlEngine, size);

  const httpCell = async (socketPath: string | null, failure: string | null): Promise<GrowthCell> => {
    if (socketPath === null) return { kind: "n/a", why: plan.dockerdMissing };
    if (failure !== null) return { kind: "failed", message: failure };
    try {
      const answer = await listing(socketPath, read.path);
      const latency = await measureHttp(socketPath, read.path, plan.http);
      return latency.kind === "failed" ? { kind: "failed", message: latency.message } : { kind: "measured", latency, bytes: answer.bytes, count: answer.count };
    } catch (error) {
      return { kind: "failed", message: (error as Error).message };
    }
  };
  const nerdctlCell = async (): Promise<GrowthCell> => {
    if (nerdctlEngine.failure !== null) return { kind: "failed", message: nerdctlEngine.failure };
    try {
      const output = await plumb(nerdctlEngine.client, read.nerdctlArgs);
      const latency = await measureCommand(plan.nerdctl.path, read.nerdctlArgs, plan.nerdctl.env, plan.command);
      if (latency.kind === "failed") return { kind: "failed", message: latency.message };
      // Lines below the header; stdout as execa gives it lacks the last newline.
      const bytes = Buffer.byteLength(output) + (output === "" ? 0 : 1);
      return { kind: "measured", latency, bytes, count: output === "" ? 0 : output.split("\n").length - 1 };
    } catch (error) {
      return { kind: "failed", message: (error as Error).message };
    }
  };
  const from = (await stat(plan.nerdctld.logFile)).size;
  const nerdctld = await httpCell(plan.nerdctld.socketPath, nerdctlEngine.failure);
  const timedLog = await readFrom(plan.nerdctld.logFile, from);
  const nerdctldCalls = nerdctld.kind === "measured" ? nerdctlCalls(timedLog) : null;
  if (nerdctldCalls) plan.log(`reads: nerdctl calls while nerdctld's ${kind} were timed: ${nerdctlCallLines(timedLog).map((line) => line.slice(0, 120)).join(" | ")}`);
  const dockerd = await httpCell(plan.dockerdSocket, reference?.failure ?? null);
  const nerdctl = await nerdctlCell();
  const row: GrowthRow = { kind, size, nerdctld, dockerd, nerdctl, settling, nerdctldCalls, populateSeconds };
  plan.log(`reads: ${kind} at ${size}: nerdctld ${describeGrowth(nerdctld)}, dockerd ${describeGrowth(dockerd)}, nerdctl ${describeGrowth(nerdctl)}`);
  return row;
}

function describeGrowth(cell: GrowthCell): string {
  if (cell.kind !== "measured") return cell.kind === "failed" ? `failed (${cell.message})` : "n/a";
  const p50 = cell.latency.kind === "measured" ? `${cell.latency.p50.toFixed(1)} ms` : cell.latency.kind;
  return `p50 ${p50}, ${cell.bytes} bytes, ${cell.count} listed`;
}

/**
 * Grows nerdctld's engine alone to the memory measurement's size, the
 * containers added only created (dockerd's namespace stays as the growth
 * tables left it), waits for nerdctld's state to hold all of it, then reads
 * nerdctld's RSS after a quiet moment.
 */
async function grownMemory(
  plan: ReadsPlan,
  engines: Record<GrowthKind, EngineCount>,
  pids: { nerdctld: number; dockerd: number | null },
): Promise<MemoryResults["grown"]> {
  // Created, not started: a running container costs the machine a shim and a logger, and its record is about the size of a created one's.
  let addedSeconds = 0;
  for (const kind of ["containers", "images"] as const) addedSeconds += (await grow(plan, kind, engines[kind], plan.memorySize[kind], false)) ?? 0;
  const held = {} as HeldCounts;
  for (const kind of ["containers", "images"] as const) {
    // Nearly a thousand containers new to the state at once: nerdctl's inspection of them alone takes a minute or more here.
    const settling = await settledOn(plan, kind, engines[kind], plan.memorySize[kind], 5 * plan.settleTimeoutMs);
    if (settling.kind === "unsettled") return { failed: `nerdctld's ${kind}: ${settling.why}` };
    held[kind] = engines[kind].base + engines[kind].added;
  }
  return { rss: await quietRss(pids), held, addedSeconds };
}

/** Fresh nerdctlds on nerdctld's engine, one at a time: in an empty namespace, then in the grown one. */
async function freshPair(plan: ReadsPlan, held: HeldCounts): Promise<{ empty: FreshDaemonMemory; grown: FreshDaemonMemory }> {
  const timeoutMs = 5 * plan.settleTimeoutMs;
  plan.log("reads: memory of fresh nerdctlds, an empty namespace and the grown one");
  const empty = await freshDaemonMemory(plan.nerdctl, EMPTY_NAMESPACE, { containers: 0, images: 0 }, timeoutMs);
  const grown = await freshDaemonMemory(plan.nerdctl, plan.nerdctl.env.CONTAINERD_NAMESPACE ?? "default", held, timeoutMs);
  plan.log(`reads: fresh nerdctlds idle: ${(empty.idleKiB / 1024).toFixed(1)} MiB empty, ${(grown.idleKiB / 1024).toFixed(1)} MiB holding ${held.containers} containers and ${held.images} images`);
  return { empty, grown };
}

/** Containers and images a daemon lists; null without the daemon. */
async function counted(socketPath: string | null): Promise<HeldCounts | null> {
  if (socketPath === null) return null;
  return {
    containers: (await listing(socketPath, GROWTH_READS.containers.path)).count,
    images: (await listing(socketPath, GROWTH_READS.images.path)).count,
  };
}

/** Part 1's commands at one size of the namespace. */
export interface CommandsAtSize extends Pick<ReadsResults, "commands" | "nerdctldCalls" | "commandsRanWith"> {
  /** Containers asked for (the seeded ones counted); 0: as seeded. */
  size: number;
  /** How nerdctld's state took in the containers added; null when none were. */
  settling: Settling | null;
  populateSeconds: GrowthRow["populateSeconds"];
}

/**
 * Part 1's commands alone (those named), with both namespaces grown first to
 * each size in turn as the growth tables grow them: what a user waits for
 * with that many containers around.
 */
export async function measureCommandsAt(plan: ReadsPlan, sizes: number[], operations: readonly ReadOperation[]): Promise<CommandsAtSize[]> {
  const clients = clientsOf(plan);
  const engines = enginesOf(clients);
  const commands = READ_COMMANDS.filter((command) => operations.includes(command.operation));
  await removeReadsObjects(plan);
  try {
    for (const client of engines) await plumb(client, ["run", "--detach", "--name", INSPECTED, IMAGE, "sleep", "86400"]);
    const socketOf = (client: Client) => (client.path === "nerdctl" ? plan.nerdctld.socketPath : plan.dockerdSocket!);
    const counts: EngineCount[] = [];
    for (const client of engines) counts.push({ client, base: (await listing(socketOf(client), GROWTH_READS.containers.path)).count, added: 0, failure: null });
    const rows: CommandsAtSize[] = [];
    for (const size of sizes) {
      const populateSeconds: GrowthRow["populateSeconds"] = {};
      for (const count of counts) {
        const seconds = await grow(plan, "containers", count, size);
        if (seconds !== null) populateSeconds[count.client.path as "nerdctl" | "dockerd"] = seconds;
      }
      const settling = populateSeconds.nerdctl === undefined ? null : await settledOn(plan, "containers", counts[0]!, size);
      const commandsRanWith = { nerdctld: await counted(plan.nerdctld.socketPath), dockerd: await counted(plan.dockerdSocket) };
      rows.push({ size, settling, populateSeconds, commandsRanWith, ...(await measureCommands(plan, clients, commands)) });
    }
    return rows;
  } finally {
    plan.log("reads: removing the containers added");
    await removeReadsObjects(plan).catch((error: unknown) => plan.log((error as Error).message));
  }
}

export async function measureReads(plan: ReadsPlan): Promise<ReadsResults> {
  const clients = clientsOf(plan);
  const engines = enginesOf(clients);
  const pids = { nerdctld: plan.nerdctld.daemon.pid, dockerd: plan.dockerd?.daemon.pid ?? null };
  await removeReadsObjects(plan);
  try {
    for (const client of engines) await plumb(client, ["run", "--detach", "--name", INSPECTED, IMAGE, "sleep", "86400"]);
    const commandsRanWith = { nerdctld: await counted(plan.nerdctld.socketPath), dockerd: await counted(plan.dockerdSocket) };
    const commands = await measureCommands(plan, clients);

    const before = await quietRss(pids);
    const socketOf = (client: Client) => (client.path === "nerdctl" ? plan.nerdctld.socketPath : plan.dockerdSocket!);
    const counts = {} as Record<GrowthKind, EngineCount[]>;
    const growth: GrowthRow[] = [];
    for (const kind of ["containers", "images"] as const) {
      counts[kind] = [];
      for (const client of engines) counts[kind].push({ client, base: (await listing(socketOf(client), GROWTH_READS[kind].path)).count, added: 0, failure: null });
      for (const size of kind === "containers" ? plan.containerSizes : plan.imageSizes) growth.push(await measureSize(plan, kind, size, counts[kind]));
    }
    const memory: MemoryResults = {
      before,
      heldBefore: commandsRanWith.nerdctld,
      grown: await grownMemory(plan, { containers: counts.containers[0]!, images: counts.images[0]! }, pids),
      weight: { failed: "not reached" },
      fresh: { failed: "not reached" },
    };
    memory.weight = await weighState(plan.nerdctl).catch((error: unknown) => ({ failed: (error as Error).message.split("\n")[0]! }));
    if (!("failed" in memory.grown)) memory.fresh = await freshPair(plan, memory.grown.held).catch((error: unknown) => ({ failed: (error as Error).message.split("\n")[0]! }));
    return { ...commands, commandsRanWith, growth, memory, parallel: plan.parallel };
  } finally {
    plan.log("reads: removing the containers and images added");
    await removeReadsObjects(plan).catch((error: unknown) => plan.log((error as Error).message));
  }
}
