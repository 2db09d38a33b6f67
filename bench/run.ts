/**
 * `npm run bench`: nerdctld against plain nerdctl and Debian's dockerd on this
 * machine, with the same locally made images, in one run; writes RESULTS.md.
 *
 *   --only WHAT[,WHAT]   what to measure (default `results,lifecycle`): `results` (latency, throughput,
 *                        memory and image transfer: RESULTS.md), `lifecycle` (LIFECYCLE.md), or
 *                        one part of the lifecycle: `run`, `exec`, `cp`; `reads` (READS.md: about
 *                        40 minutes on 2 cores, most of it nerdctl making 1,000 containers)
 *   --quick              small iteration counts, 1 s throughput, 64 MiB image and file; reads grow
 *                        to 100 containers and 50 images
 *   --large-size SIZE    the transfer image's random layer: bytes, or 64MiB, 1GiB, … (default 1GiB)
 *   --rounds N           how many times each transfer runs (default 5, quick 3); the median is reported
 *   --run-rounds N       rounds of the lifecycle's run commands (default 15, quick 5)
 *   --stream-rounds N    rounds of its exec and cp commands (default 5, quick 3)
 *   --big-size SIZE      the file exec and cp move, whole MiB (default 1GiB)
 *   --read-rounds N      rounds of the read commands (default 10, quick 5)
 *   --read-commands LIST with `--only reads`: only part 1's commands, those named (comma-separated,
 *                        as the report names them: `volume ls,network ls,ps -a`), the result added
 *                        to the reads report's findings, its tables left as they are (minutes, not 40)
 *   --read-sizes N[,N]   with --read-commands: the containers (the seeded ones counted) both
 *                        namespaces are grown to before the commands run, in turn (default 0: as seeded)
 *   --out PATH           where the results report goes (default bench/RESULTS.md)
 *   --lifecycle-out PATH where the lifecycle report goes (default bench/LIFECYCLE.md)
 *   --reads-out PATH     where the reads report goes (default bench/READS.md)
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { writeLargeImage } from "../e2e/support/images.ts";
import { benchDockerCli, startDockerd, startNerdctld, type BenchDaemon, type NerdctldUnderBench } from "./engines.ts";
import { measureLatencies, type LatencyBudget } from "./http-latency.ts";
import { LIFECYCLE_PARTS, measureLifecycle, type LifecyclePart } from "./lifecycle.ts";
import { renderLifecycleReport, withFinding, withFindings } from "./lifecycle-report.ts";
import { collectVersions, describeMachine, type Versions } from "./machine.ts";
import { measureCommandsAt, measureReads, READ_COMMANDS, removeReadsObjects, type ReadOperation } from "./reads.ts";
import { renderReadCommandsFinding, renderReadsReport } from "./reads-report.ts";
import { parseSize } from "./size.ts";
import { renderReport, type BenchSettings, type RssRow, type ThroughputRow } from "./report.ts";
import { PeakWatcher, readMemory, type Memory } from "./rss.ts";
import { measureThroughput } from "./throughput.ts";
import { measureTransfers } from "./transfer.ts";

function rounds(text: string | undefined, fallback: number, flag: string): number {
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${flag}: a whole number of at least 1, not ${JSON.stringify(text)}`);
  return value;
}

function settingsFrom(quick: boolean, largeSize: string | undefined, transferRounds: string | undefined): BenchSettings {
  const base = quick
    ? { mode: "quick" as const, fastIterations: 30, slowIterations: 5, warmup: 2, timeCapSeconds: 5, clients: 50, throughputSeconds: 1, throughputWarmupSeconds: 1, largeImageBytes: 64 * 1024 ** 2, transferRounds: 3 }
    : { mode: "full" as const, fastIterations: 200, slowIterations: 30, warmup: 5, timeCapSeconds: 30, clients: 50, throughputSeconds: 5, throughputWarmupSeconds: 3, largeImageBytes: 1024 ** 3, transferRounds: 5 };
  return {
    ...base,
    transferRounds: rounds(transferRounds, base.transferRounds, "--rounds"),
    ...(largeSize === undefined ? {} : { largeImageBytes: parseSize(largeSize, "--large-size") }),
  };
}

const SELECTIONS = ["results", "lifecycle", "reads", ...LIFECYCLE_PARTS] as const;

/** What --only picks: the results report or not, which parts of the lifecycle, the reads report or not. */
function selectionFrom(only: string | undefined): { results: boolean; lifecycle: LifecyclePart[]; reads: boolean } {
  const picked = (only ?? "results,lifecycle").split(",").map((word) => word.trim());
  for (const word of picked) {
    if (!(SELECTIONS as readonly string[]).includes(word)) throw new Error(`--only: ${JSON.stringify(word)} is none of ${SELECTIONS.join(", ")}`);
  }
  return {
    results: picked.includes("results"),
    lifecycle: LIFECYCLE_PARTS.filter((part) => picked.includes("lifecycle") || picked.includes(part)),
    reads: picked.includes("reads"),
  };
}

function log(line: string): void {
  console.error(`bench: ${line}`);
}

/** Stops what the run started, newest first, once, also on Ctrl-C. */
class Cleanup {
  private readonly steps: { what: string; run: () => Promise<void> }[] = [];
  private done: Promise<void> | undefined;

  add(what: string, run: () => Promise<void>): void {
    this.steps.push({ what, run });
  }

  runAll(): Promise<void> {
    this.done ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (error) {
          log(`cleanup of ${step.what} failed: ${(error as Error).message}`);
        }
      }
    })();
    return this.done;
  }
}

/** What every measurement runs against. */
interface Bench {
  nerdctld: NerdctldUnderBench;
  dockerd: BenchDaemon | null;
  dockerdMissing: string;
  dockerCli: string;
  versions: Versions;
  /** A directory for the archives the measurements write. */
  work: string;
  command: string;
  notes: string[];
}

/** When a report's measurements began, and the machine's load then. */
function startClock(): { startedAt: string; loadAverage: () => { start: number; end: number }; elapsedSeconds: () => number } {
  const started = performance.now();
  const start = loadavg()[0]!;
  return {
    startedAt: new Date().toISOString(),
    loadAverage: () => ({ start, end: loadavg()[0]! }),
    elapsedSeconds: () => (performance.now() - started) / 1000,
  };
}

/** Latency, throughput, memory and image transfer: the text of RESULTS.md. */
async function measureResults(bench: Bench, settings: BenchSettings, idle: { nerdctld: Memory | null; dockerd: Memory | null }): Promise<string> {
  const { nerdctld, dockerd, dockerdMissing, dockerCli } = bench;
  const clock = startClock();
  const fast: LatencyBudget = { warmup: settings.warmup, iterations: settings.fastIterations, timeCapMs: settings.timeCapSeconds * 1000 };
  const slow: LatencyBudget = { ...fast, iterations: settings.slowIterations };
  const latency = await measureLatencies({
    nerdctldSocket: nerdctld.socketPath,
    dockerdSocket: dockerd?.socketPath ?? null,
    dockerdMissing,
    nerdctl: nerdctld.nerdctl,
    fast,
    slow,
    log,
  });

  // Throughput, with each daemon's memory watched over the whole phase.
  const watchers = {
    nerdctld: new PeakWatcher(nerdctld.pid, nerdctld.peakMode),
    dockerd: dockerd ? new PeakWatcher(dockerd.pid, dockerd.peakMode) : null,
  };
  const throughput: ThroughputRow[] = [];
  const options = {
    clients: settings.clients,
    durationMs: settings.throughputSeconds * 1000,
    warmupMs: settings.throughputWarmupSeconds * 1000,
    maxRequestsPerClient: 1_000_000,
  };
  const throughputEndpoints = [
    ["GET /_ping", "/_ping"],
    ["GET /version", "/v1.41/version"],
    ["GET /containers/json?all=1", "/v1.41/containers/json?all=1"],
    ["GET /images/json", "/v1.41/images/json"],
  ] as const;
  for (const [label, path] of throughputEndpoints) {
    const row: ThroughputRow = {
      label,
      nerdctld: await measureThroughput(nerdctld.socketPath, path, options),
      dockerd: dockerd ? await measureThroughput(dockerd.socketPath, path, options) : { kind: "n/a", why: dockerdMissing },
    };
    log(`throughput ${label}: nerdctld ${JSON.stringify(row.nerdctld)}, dockerd ${JSON.stringify(row.dockerd)}`);
    throughput.push(row);
  }
  const rssRow = (daemon: "nerdctld" | "dockerd", pid: number, idleKiB: number, watcher: PeakWatcher): RssRow => {
    const peak = watcher.stop();
    return { daemon, pid, idleKiB, loadPeakKiB: peak.peakKiB, exact: peak.exact };
  };
  const rss = {
    nerdctld: rssRow("nerdctld", nerdctld.pid, idle.nerdctld?.rssKiB ?? Number.NaN, watchers.nerdctld),
    dockerd: dockerd && watchers.dockerd ? rssRow("dockerd", dockerd.pid, idle.dockerd?.rssKiB ?? Number.NaN, watchers.dockerd) : null,
    dockerdMissing,
  };

  log(`writing the transfer image (${settings.largeImageBytes} bytes of random layer)`);
  const image = await writeLargeImage(join(bench.work, "large.tar"), { sizeBytes: settings.largeImageBytes });
  const transfer = await measureTransfers({
    archivePath: image.path,
    reference: image.reference,
    dockerCli,
    nerdctld: { dockerHost: nerdctld.dockerHost, socketPath: nerdctld.socketPath, daemon: { pid: nerdctld.pid, mode: nerdctld.peakMode } },
    nerdctl: nerdctld.nerdctl,
    dockerd: dockerd ? { dockerHost: dockerd.dockerHost, daemon: { pid: dockerd.pid, mode: dockerd.peakMode } } : null,
    dockerdMissing,
    timeoutMs: 10 * 60_000,
    rounds: settings.transferRounds,
    log,
  });
  await rm(image.path, { force: true });

  return renderReport({
    command: bench.command,
    startedAt: clock.startedAt,
    loadAverage: clock.loadAverage(),
    elapsedSeconds: clock.elapsedSeconds(),
    settings,
    machine: describeMachine(),
    versions: bench.versions,
    latency,
    throughput,
    rss,
    transfer,
    notes: bench.notes,
  });
}

/** How the whole-command measurements reach each path: the docker CLI through both daemons, nerdctl beside nerdctld. */
function commandPaths(bench: Bench) {
  const { nerdctld, dockerd } = bench;
  return {
    dockerCli: bench.dockerCli,
    nerdctld: { dockerHost: nerdctld.dockerHost, socketPath: nerdctld.socketPath, daemon: { pid: nerdctld.pid, mode: nerdctld.peakMode }, logFile: nerdctld.logFile },
    nerdctl: nerdctld.nerdctl,
    dockerd: dockerd ? { dockerHost: dockerd.dockerHost, daemon: { pid: dockerd.pid, mode: dockerd.peakMode } } : null,
    dockerdMissing: bench.dockerdMissing,
    workDir: bench.work,
    timeoutMs: 10 * 60_000,
    log,
  };
}

/** What the whole-command reports say of their run: the command, the clock, the machine, the programs. */
function commandReportHeader(bench: Bench, clock: ReturnType<typeof startClock>) {
  return {
    command: bench.command,
    startedAt: clock.startedAt,
    loadAverage: clock.loadAverage(),
    elapsedSeconds: clock.elapsedSeconds(),
    machine: describeMachine(),
    versions: bench.versions,
    dockerCli: bench.dockerCli,
    notes: bench.notes,
  };
}

/** run, exec and cp as a user runs them: the text of LIFECYCLE.md. */
async function measureLifecycleReport(
  bench: Bench,
  parts: LifecyclePart[],
  settings: { runRounds: number; transferRounds: number; bigBytes: number },
): Promise<string> {
  const clock = startClock();
  const results = await measureLifecycle({ parts, ...commandPaths(bench), ...settings });
  return renderLifecycleReport({
    ...commandReportHeader(bench, clock),
    runRounds: settings.runRounds,
    transferRounds: settings.transferRounds,
    results,
  });
}

interface ReadsSettings {
  rounds: number;
  quick: boolean;
  commandsOnly: CommandsOnly | null;
}

/** Only some of the read commands, at some sizes (--read-commands, --read-sizes). */
interface CommandsOnly {
  operations: ReadOperation[];
  sizes: number[];
}

function commandsOnlyFrom(commands: string | undefined, sizes: string | undefined): CommandsOnly | null {
  if (commands === undefined) {
    if (sizes !== undefined) throw new Error("--read-sizes goes with --read-commands");
    return null;
  }
  const known = READ_COMMANDS.map((command) => command.operation as string);
  const operations = commands.split(",").map((word) => word.trim());
  for (const operation of operations) {
    if (!known.includes(operation)) throw new Error(`--read-commands: ${JSON.stringify(operation)} is none of ${known.join(", ")}`);
  }
  const counts = (sizes ?? "0").split(",").map((word) => Number(word.trim()));
  if (counts.some((count) => !Number.isInteger(count) || count < 0)) throw new Error(`--read-sizes: whole numbers, not ${JSON.stringify(sizes)}`);
  return { operations: operations as ReadOperation[], sizes: counts };
}

/** How the reads are run, whichever part: the paths, the budgets, the sizes. */
function readsPlan(bench: Bench, settings: ReadsSettings, cleanup: Cleanup) {
  const plan = {
    ...commandPaths(bench),
    dockerdSocket: bench.dockerd?.socketPath ?? null,
    rounds: settings.rounds,
    http: { warmup: 3, iterations: settings.quick ? 30 : 100, timeCapMs: 30_000 },
    command: { warmup: 1, iterations: settings.quick ? 3 : 10, timeCapMs: 120_000 },
    containerSizes: settings.quick ? [10, 100] : [10, 100, 500],
    imageSizes: settings.quick ? [10, 50] : [10, 200],
    memorySize: settings.quick ? { containers: 100, images: 50 } : { containers: 1000, images: 500 },
    parallel: 8,
    settleTimeoutMs: 120_000,
  };
  // Also on Ctrl-C: hundreds of containers must not outlive the run.
  cleanup.add("the reads' containers and images", () => removeReadsObjects(plan));
  return plan;
}

/** Some read commands at some sizes: a section of READS.md's findings. */
async function measureReadCommandsFinding(bench: Bench, settings: ReadsSettings, only: CommandsOnly, cleanup: Cleanup): Promise<string> {
  const clock = startClock();
  const rows = await measureCommandsAt(readsPlan(bench, settings, cleanup), only.sizes, only.operations);
  return renderReadCommandsFinding({ ...commandReportHeader(bench, clock), rounds: settings.rounds, operations: only.operations, rows });
}

/** The read commands, how reads grow with the namespace, and the state's memory: the text of READS.md. */
async function measureReadsReport(bench: Bench, settings: ReadsSettings, cleanup: Cleanup): Promise<string> {
  const clock = startClock();
  const plan = readsPlan(bench, settings, cleanup);
  const { http, command } = plan;
  const results = await measureReads(plan);
  return renderReadsReport({
    ...commandReportHeader(bench, clock),
    rounds: settings.rounds,
    httpIterations: http.iterations,
    commandIterations: command.iterations,
    results,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      "large-size": { type: "string" },
      rounds: { type: "string" },
      only: { type: "string" },
      "run-rounds": { type: "string" },
      "stream-rounds": { type: "string" },
      "big-size": { type: "string" },
      "read-rounds": { type: "string" },
      "read-commands": { type: "string" },
      "read-sizes": { type: "string" },
      out: { type: "string", default: join(import.meta.dirname, "RESULTS.md") },
      "lifecycle-out": { type: "string", default: join(import.meta.dirname, "LIFECYCLE.md") },
      "reads-out": { type: "string", default: join(import.meta.dirname, "READS.md") },
    },
  });
  const quick = values.quick ?? false;
  const settings = settingsFrom(quick, values["large-size"], values.rounds);
  const selection = selectionFrom(values.only);
  const lifecycleSettings = {
    runRounds: rounds(values["run-rounds"], quick ? 5 : 15, "--run-rounds"),
    transferRounds: rounds(values["stream-rounds"], quick ? 3 : 5, "--stream-rounds"),
    bigBytes: values["big-size"] === undefined ? (quick ? 64 : 1024) * 1024 ** 2 : parseSize(values["big-size"], "--big-size"),
  };
  const readsSettings = {
    rounds: rounds(values["read-rounds"], quick ? 5 : 10, "--read-rounds"),
    quick,
    commandsOnly: commandsOnlyFrom(values["read-commands"], values["read-sizes"]),
  };
  const command = ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");
  const notes: string[] = [];
  const cleanup = new Cleanup();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup.runAll().finally(() => process.exit(130));
    });
  }

  try {
    // The lifecycle and reads count nerdctl calls in the --debug log; results alone measure the daemon as installed, as dockerd runs.
    const debug = selection.lifecycle.length > 0 || selection.reads;
    log(`starting nerdctld on a managed engine${debug ? " with --debug" : ""} (builds first)`);
    const nerdctld: NerdctldUnderBench = await startNerdctld(debug);
    cleanup.add("nerdctld", nerdctld.stop);
    log(`nerdctld pid ${nerdctld.pid} at ${nerdctld.socketPath}`);

    let dockerd: BenchDaemon | null = null;
    let dockerdMissing = "";
    try {
      dockerd = await startDockerd(log);
      cleanup.add("dockerd", dockerd.stop);
      log(`dockerd pid ${dockerd.pid}`);
    } catch (error) {
      dockerdMissing = `no dockerd: ${(error as Error).message.split("\n")[0]}`;
      log(dockerdMissing);
      notes.push(`dockerd columns are empty: ${dockerdMissing}`);
    }
    if (dockerd && dockerd.peakMode === "sample") {
      notes.push("dockerd was already running (not started by the benchmark): its peaks are sampled VmRSS every 50 ms, not VmHWM.");
    }

    // Idle: after start-up and seeding, before any benchmark traffic.
    await sleep(2000);
    const idle = { nerdctld: readMemory(nerdctld.pid), dockerd: dockerd ? readMemory(dockerd.pid) : null };
    const dockerCli = benchDockerCli();
    const versions = await collectVersions({
      nerdctldSocket: nerdctld.socketPath,
      dockerdSocket: dockerd?.socketPath ?? null,
      nerdctl: nerdctld.nerdctl,
      dockerCli,
    });
    const work = await mkdtemp(join(tmpdir(), "nerdctld-bench-"));
    cleanup.add("work directory", () => rm(work, { recursive: true, force: true }));
    notes.push(
      debug
        ? "nerdctld runs as e2e/support/daemon.ts starts it, with --debug (a log line per request and per nerdctl call, to a file), which the lifecycle and reads parts count calls in; a debug line per request costs it about a third of its requests/s."
        : "nerdctld runs as e2e/support/daemon.ts starts it, without --debug, as installed (dockerd runs at its default log level too).",
      "nerdctld and plain nerdctl share one managed containerd; dockerd 20.10 uses its own containerd and overlay2 store.",
    );
    const bench: Bench = { nerdctld, dockerd, dockerdMissing, dockerCli, versions, work, command, notes };

    if (selection.results) {
      const report = await measureResults(bench, settings, idle);
      await writeFile(values.out!, report);
      process.stdout.write(report);
      log(`wrote ${values.out}`);
    }
    if (selection.lifecycle.length > 0) {
      const previous = await readFile(values["lifecycle-out"]!, "utf8").catch(() => null);
      const report = withFindings(await measureLifecycleReport(bench, selection.lifecycle, lifecycleSettings), previous);
      await writeFile(values["lifecycle-out"]!, report);
      process.stdout.write(report);
      log(`wrote ${values["lifecycle-out"]}`);
    }
    // Last: it leaves the engines busiest (hundreds of containers) until it has removed what it added.
    if (selection.reads && readsSettings.commandsOnly) {
      const previous = await readFile(values["reads-out"]!, "utf8").catch(() => null);
      const finding = await measureReadCommandsFinding(bench, readsSettings, readsSettings.commandsOnly, cleanup);
      await writeFile(values["reads-out"]!, withFinding(previous, finding));
      process.stdout.write(finding);
      log(`added to ${values["reads-out"]}'s findings`);
    } else if (selection.reads) {
      const previous = await readFile(values["reads-out"]!, "utf8").catch(() => null);
      const report = withFindings(await measureReadsReport(bench, readsSettings, cleanup), previous);
      await writeFile(values["reads-out"]!, report);
      process.stdout.write(report);
      log(`wrote ${values["reads-out"]}`);
    }
  } finally {
    await cleanup.runAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
