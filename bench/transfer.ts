import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { stat } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { execa } from "execa";
import { STREAMING_GOGC } from "../lib/nerdctl/transfer.ts";
import { apiRequest, keepAliveAgent, NOT_IMPLEMENTED } from "./http.ts";
import { PeakWatcher, type PeakMode, type PeakReport } from "./rss.ts";

/** The paths compared; `nerdctl GOGC=…` is plain nerdctl with the Go setting nerdctld gives its transfer children. */
export const TRANSFER_PATHS = ["nerdctld", "nerdctl", `nerdctl GOGC=${STREAMING_GOGC}`, "dockerd"] as const;
export type TransferPath = (typeof TRANSFER_PATHS)[number];
export type TransferOperation = "load" | "save";

export type TransferCell =
  | {
      kind: "measured";
      seconds: number;
      bytes: number;
      /** Peak RSS of the daemon over the transfer minus its RSS at the start, KiB; null without a daemon. */
      daemonGrowthKiB: number | null;
      /** Whether the daemon's peak is VmHWM-exact or sampled. */
      daemonPeakExact: boolean;
      /** Peak RSS of the client process itself (docker or nerdctl), KiB. */
      clientPeakKiB: number;
      /** Wall seconds of every round, when there were several (seconds is then their median, the peaks their maximum). */
      rounds?: number[];
    }
  | { kind: "not-implemented"; detail: string }
  | { kind: "n/a"; why: string }
  | { kind: "failed"; message: string };

export interface TransferRow {
  path: TransferPath;
  operation: TransferOperation;
  cell: TransferCell;
}

/** A daemon whose memory is watched during a transfer. */
export interface WatchedDaemon {
  pid: number;
  mode: PeakMode;
}

/** One command to time, as a user runs it. */
export interface TimedRun {
  command: string;
  args: string[];
  env: Record<string, string>;
  /**
   * The bytes moved: what the command writes to stdout, counted as it streams
   * ("stdout", a save), or a number known beforehand, stdout then going to
   * /dev/null (a load, an exec's output).
   */
  bytes: "stdout" | number;
  /** A file the command reads as its stdin (a tar for `cp -`); none otherwise. */
  stdinPath?: string;
  daemon: WatchedDaemon | null;
  timeoutMs: number;
}

/**
 * Runs one command to its end: wall time from spawn to exit, bytes moved, and
 * the peak memory of the daemon and of the client meanwhile. Counted output
 * is dropped as it streams, so the benchmark holds no copy and needs no disk
 * for it.
 */
export function timeCommand(run: TimedRun): Promise<TransferCell> {
  return new Promise((resolve) => {
    const counted = run.bytes === "stdout";
    // The child gets its own copies of these descriptors at spawn; ours are closed right after.
    const stdin = run.stdinPath === undefined ? "ignore" : openSync(run.stdinPath, "r");
    const stdout = counted ? "pipe" : openSync("/dev/null", "w");
    const daemonWatch = run.daemon ? new PeakWatcher(run.daemon.pid, run.daemon.mode) : null;
    const start = performance.now();
    const child = spawn(run.command, run.args, { env: run.env, stdio: [stdin, stdout, "pipe"] });
    for (const fd of [stdin, stdout]) if (typeof fd === "number") closeSync(fd);
    const clientWatch = child.pid ? new PeakWatcher(child.pid, "since-start") : null;
    let countedBytes = 0;
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (countedBytes += chunk.byteLength));
    child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), run.timeoutMs);
    // Watchers stop exactly once, whichever of error and close comes first.
    let peaks: { daemon: PeakReport | null; client: PeakReport | null } | undefined;
    const stopWatches = () => (peaks ??= { daemon: daemonWatch?.stop() ?? null, client: clientWatch?.stop() ?? null });
    const finish = (cell: TransferCell) => {
      clearTimeout(timer);
      stopWatches();
      resolve(cell);
    };
    child.on("error", (error) => finish({ kind: "failed", message: error.message }));
    child.on("close", (code, signal) => {
      const seconds = (performance.now() - start) / 1000;
      const { daemon, client } = stopWatches();
      if (code !== 0) {
        const why = signal === "SIGKILL" ? `killed after ${run.timeoutMs / 1000} s` : `exit ${code ?? signal}`;
        return finish({ kind: "failed", message: `${why}: ${stderr.trim().split("\n").slice(-3).join(" ")}` });
      }
      finish({
        kind: "measured",
        seconds,
        bytes: typeof run.bytes === "number" ? run.bytes : countedBytes,
        daemonGrowthKiB: daemon ? Math.max(0, daemon.peakKiB - daemon.baselineKiB) : null,
        daemonPeakExact: daemon?.exact ?? false,
        clientPeakKiB: client?.peakKiB ?? 0,
      });
    });
  });
}

/**
 * Whether nerdctld serves `docker load` and `docker save`: a 501 to an empty
 * load and to a save of an image that does not exist means not yet, and the
 * whole archive is then never sent to it.
 */
export async function probeNerdctldTransfers(socketPath: string): Promise<Record<TransferOperation, string | null>> {
  const agent = keepAliveAgent();
  try {
    const load = await apiRequest(agent, socketPath, "POST", "/v1.41/images/load?quiet=1", {
      body: Buffer.alloc(0),
      headers: { "Content-Type": "application/x-tar" },
    });
    const save = await apiRequest(agent, socketPath, "GET", "/v1.41/images/nerdctld-bench-probe:absent/get");
    const verdict = (res: { status: number; body: Buffer }) =>
      res.status === NOT_IMPLEMENTED ? (tryMessage(res.body) ?? "501") : null;
    return { load: verdict(load), save: verdict(save) };
  } finally {
    agent.destroy();
  }
}

function tryMessage(body: Buffer): string | null {
  try {
    return (JSON.parse(body.toString("utf8")) as { message?: string }).message ?? null;
  } catch {
    return null;
  }
}

/** The paths a measurement compares nerdctld with, and how each is reached. */
export interface ComparedPaths {
  /** The docker CLI used against both daemons, so the client side is the same. */
  dockerCli: string;
  nerdctl: { path: string; env: Record<string, string> };
  /** null when no dockerd could be had. */
  dockerd: { dockerHost: string; daemon: WatchedDaemon } | null;
  dockerdMissing: string;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface TransferPlan extends ComparedPaths {
  archivePath: string;
  /** The reference the archive is tagged with, e.g. docker.io/library/nerdctld-large:latest. */
  reference: string;
  nerdctld: { dockerHost: string; socketPath: string; daemon: WatchedDaemon };
  /** Each path's load and save run this many times, the paths taking turns, so that a noisy machine hits all of them alike. */
  rounds: number;
}

/** The environment of a docker CLI aimed at dockerHost. */
export function dockerEnv(dockerHost: string): Record<string, string> {
  return { ...process.env, DOCKER_HOST: dockerHost, DOCKER_CLI_HINTS: "false" } as Record<string, string>;
}

/** Runs the transfers plan.rounds times and keeps, per path and operation, the median round (see TransferCell). */
export async function measureTransfers(plan: TransferPlan): Promise<TransferRow[]> {
  const rounds: TransferRow[][] = [];
  for (let round = 1; round <= plan.rounds; round++) {
    plan.log(`transfer round ${round} of ${plan.rounds}`);
    rounds.push(await measureRound(plan));
  }
  return rounds[0]!.map(({ path, operation }) => ({
    path,
    operation,
    cell: combineRounds(rounds.map((rows) => rows.find((row) => row.path === path && row.operation === operation)!.cell)),
  }));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One cell from the same measurement's rounds: the median time, the largest peaks, every round's time. */
export function combineRounds(cells: TransferCell[]): TransferCell {
  const measured = cells.filter((cell) => cell.kind === "measured");
  // One failed round fails the cell: a median must not hide it.
  if (measured.length < cells.length || measured.length <= 1) return cells.find((cell) => cell.kind !== "measured") ?? cells[0]!;
  const rounds = measured.map((cell) => cell.seconds);
  const growths = measured.map((cell) => cell.daemonGrowthKiB).filter((growth) => growth !== null);
  return {
    kind: "measured",
    seconds: median(rounds),
    bytes: measured[0]!.bytes,
    daemonGrowthKiB: growths.length > 0 ? Math.max(...growths) : null,
    daemonPeakExact: measured.every((cell) => cell.daemonPeakExact),
    clientPeakKiB: Math.max(...measured.map((cell) => cell.clientPeakKiB)),
    rounds,
  };
}

/**
 * load then save of the same archive through each path. Before each load the
 * image is removed, so every load writes the whole image; the nerdctld and
 * plain-nerdctl paths share one containerd and take turns on it.
 */
async function measureRound(plan: TransferPlan): Promise<TransferRow[]> {
  const bytes = (await stat(plan.archivePath)).size;
  const rows: TransferRow[] = [];
  const record = (path: TransferPath, operation: TransferOperation, cell: TransferCell) => {
    rows.push({ path, operation, cell });
    plan.log(`transfer ${operation} via ${path}: ${cell.kind === "measured" ? `${cell.seconds.toFixed(2)} s` : cell.kind}`);
  };
  const nerdctlRmi = () => execa(plan.nerdctl.path, ["rmi", "--force", plan.reference], { env: plan.nerdctl.env, reject: false });

  // nerdctld, through the docker CLI, where it is implemented.
  const missing = await probeNerdctldTransfers(plan.nerdctld.socketPath);
  const viaNerdctld = dockerEnv(plan.nerdctld.dockerHost);
  await nerdctlRmi();
  if (missing.load !== null) record("nerdctld", "load", { kind: "not-implemented", detail: missing.load });
  else {
    const cell = await timeCommand({
      command: plan.dockerCli, args: ["load", "--input", plan.archivePath], env: viaNerdctld,
      bytes, daemon: plan.nerdctld.daemon, timeoutMs: plan.timeoutMs,
    });
    record("nerdctld", "load", cell);
    await nerdctlRmi();
  }

  // Plain nerdctl on the same containerd, as a user runs it and as nerdctld runs it; the last load provides the image the saves read.
  const tuned = { path: TRANSFER_PATHS[2], env: { ...plan.nerdctl.env, GOGC: STREAMING_GOGC } };
  const plain = { path: TRANSFER_PATHS[1], env: plan.nerdctl.env };
  for (const { path, env } of [tuned, plain]) {
    await nerdctlRmi();
    record(path, "load", await timeCommand({
      command: plan.nerdctl.path, args: ["load", "--input", plan.archivePath], env,
      bytes, daemon: null, timeoutMs: plan.timeoutMs,
    }));
  }
  for (const { path, env } of [plain, tuned]) {
    record(path, "save", await timeCommand({
      command: plan.nerdctl.path, args: ["save", plan.reference], env,
      bytes: "stdout", daemon: null, timeoutMs: plan.timeoutMs,
    }));
  }
  if (missing.save !== null) record("nerdctld", "save", { kind: "not-implemented", detail: missing.save });
  else {
    record("nerdctld", "save", await timeCommand({
      command: plan.dockerCli, args: ["save", plan.reference], env: viaNerdctld,
      bytes: "stdout", daemon: plan.nerdctld.daemon, timeoutMs: plan.timeoutMs,
    }));
  }
  await nerdctlRmi();

  if (plan.dockerd === null) {
    record("dockerd", "load", { kind: "n/a", why: plan.dockerdMissing });
    record("dockerd", "save", { kind: "n/a", why: plan.dockerdMissing });
    return rows;
  }
  const viaDockerd = dockerEnv(plan.dockerd.dockerHost);
  const dockerdRmi = () => execa(plan.dockerCli, ["rmi", "--force", plan.reference], { env: viaDockerd, reject: false });
  await dockerdRmi();
  try {
    record("dockerd", "load", await timeCommand({
      command: plan.dockerCli, args: ["load", "--input", plan.archivePath], env: viaDockerd,
      bytes, daemon: plan.dockerd.daemon, timeoutMs: plan.timeoutMs,
    }));
    record("dockerd", "save", await timeCommand({
      command: plan.dockerCli, args: ["save", plan.reference], env: viaDockerd,
      bytes: "stdout", daemon: plan.dockerd.daemon, timeoutMs: plan.timeoutMs,
    }));
  } finally {
    await dockerdRmi();
  }
  return rows;
}
