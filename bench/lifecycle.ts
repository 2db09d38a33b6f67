/**
 * The container lifecycle as a user drives it, through nerdctld (the docker
 * CLI), plain nerdctl and dockerd (the same docker CLI), each command timed
 * from spawn to exit:
 *
 *   run    `run --rm busybox true`; `run -d` of a sleeping container, then `rm -f` of it
 *   exec   `exec C cat /big`, a file of random bytes made with dd inside C, output to /dev/null
 *   cp     `cp C:/big -` to /dev/null, and `cp - C:/dir` of a tar holding one such file
 *
 * The paths take turns within each round, starting one later each round, so
 * that drift on a noisy machine and the order itself hit all of them alike.
 * nerdctld and plain nerdctl share one containerd namespace, and so one C.
 */
import { randomFillSync } from "node:crypto";
import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { packTar } from "../lib/archive/tar-writer.ts";
import { clientsOf, describeCell as describe, plumb, readFrom, Samples, turn, type Client, type ClientPath } from "./clients.ts";
import { timeCommand, type ComparedPaths, type TransferCell, type WatchedDaemon } from "./transfer.ts";

export type LifecyclePath = ClientPath;

/** What `--only` can pick of the lifecycle. */
export const LIFECYCLE_PARTS = ["run", "exec", "cp"] as const;
export type LifecyclePart = (typeof LIFECYCLE_PARTS)[number];

export const LIFECYCLE_OPERATIONS = {
  run: ["run --rm", "run -d", "rm -f"],
  exec: ["exec cat"],
  cp: ["cp out", "cp in"],
} as const satisfies Record<LifecyclePart, readonly string[]>;
export type LifecycleOperation = (typeof LIFECYCLE_OPERATIONS)[LifecyclePart][number];

export interface LifecycleRow {
  operation: LifecycleOperation;
  path: LifecyclePath;
  /** The median round, every round's time in `rounds`; peaks are the largest of the rounds. */
  cell: TransferCell;
}

/** One line of nerdctld's log, at its time after the traced command was spawned. */
export interface TraceLine {
  atMs: number;
  text: string;
}

export interface LifecycleResults {
  rows: LifecycleRow[];
  /** What nerdctld logged during one more `docker run --rm`: each request, each nerdctl call with its duration. */
  runTrace: TraceLine[] | null;
  /** The container the exec and cp commands use, and the size of its /big. */
  container: string;
  bigBytes: number;
}

export interface LifecyclePlan extends ComparedPaths {
  parts: readonly LifecyclePart[];
  nerdctld: { dockerHost: string; daemon: WatchedDaemon; logFile: string };
  /** Rounds of the run commands (each path once per round). */
  runRounds: number;
  /** Rounds of exec and cp. */
  transferRounds: number;
  /** The size of /big: whole MiB, as dd writes it. */
  bigBytes: number;
  /** Where the tar for `cp -` is written. */
  workDir: string;
}

const MIB = 1024 * 1024;
/** The container of exec and cp; the one `run -d` makes has the same name with `-d`. */
const CONTAINER = "nerdctld-bench-life";
const DETACHED = `${CONTAINER}-d`;
const IMAGE = "busybox";

export async function measureLifecycle(plan: LifecyclePlan): Promise<LifecycleResults> {
  if (!Number.isInteger(plan.bigBytes / MIB) || plan.bigBytes <= 0) throw new Error(`the big file must be whole MiB, not ${plan.bigBytes} bytes`);
  const clients = clientsOf(plan);
  // nerdctl shares nerdctld's engine: containers are set up and removed through it, and once.
  const engines = clients.filter((client) => client.path !== "nerdctld");
  const samples = new Samples<LifecycleOperation>();
  const removeAll = () => Promise.all(engines.map((client) => plumb(client, ["rm", "--force", CONTAINER, DETACHED], { mayFail: true })));
  await removeAll();
  let runTrace: TraceLine[] | null = null;
  try {
    if (plan.parts.includes("run")) {
      await measureRuns(plan, clients, samples);
      runTrace = await traceRun(plan, clients[0]!);
    }
    if (plan.parts.includes("exec") || plan.parts.includes("cp")) {
      for (const client of engines) {
        plan.log(`lifecycle: ${client.path}: ${CONTAINER} with a ${plan.bigBytes / MIB} MiB /big`);
        await plumb(client, ["run", "--detach", "--name", CONTAINER, IMAGE, "sleep", "86400"]);
        await plumb(client, ["exec", CONTAINER, "dd", "if=/dev/urandom", "of=/big", `bs=${MIB}`, `count=${plan.bigBytes / MIB}`]);
        await plumb(client, ["exec", CONTAINER, "mkdir", "/dir"]);
      }
      await measureTransfers(plan, clients, samples);
    }
  } finally {
    await removeAll();
  }
  const rows = samples.rows();
  if (!plan.dockerd) {
    const missing: TransferCell = { kind: "n/a", why: plan.dockerdMissing };
    for (const operation of new Set(rows.map((row) => row.operation))) rows.push({ operation, path: "dockerd", cell: missing });
  }
  return { rows, runTrace, container: CONTAINER, bigBytes: plan.bigBytes };
}

/** Round 0 warms every path up (first image and network use) and is not counted. */
async function measureRuns(plan: LifecyclePlan, clients: Client[], samples: Samples<LifecycleOperation>): Promise<void> {
  const time = (client: Client, args: string[]) => timeCommand({ command: client.command, args, env: client.env, bytes: 0, daemon: client.daemon, timeoutMs: plan.timeoutMs });
  for (let round = 0; round <= plan.runRounds; round++) {
    plan.log(`lifecycle: run round ${round} of ${plan.runRounds}${round === 0 ? " (warm-up)" : ""}`);
    const measured: [LifecycleOperation, LifecyclePath, TransferCell][] = [];
    for (const client of turn(clients, round)) measured.push(["run --rm", client.path, await time(client, ["run", "--rm", IMAGE, "true"])]);
    for (const client of turn(clients, round)) {
      const started = await time(client, ["run", "--detach", "--name", DETACHED, IMAGE, "sleep", "3600"]);
      measured.push(["run -d", client.path, started], ["rm -f", client.path, await time(client, ["rm", "--force", DETACHED])]);
    }
    for (const [operation, path, cell] of measured) {
      if (round > 0) samples.add(operation, path, cell);
      if (cell.kind !== "measured") plan.log(`lifecycle: ${operation} via ${path}: ${describe(cell)}`);
    }
  }
}

/**
 * Each path's output is counted once, and what `cp -` unpacked is checked,
 * before the timed rounds send the output to /dev/null: a command that exits
 * 0 having moved less is a failure, not a fast run.
 */
async function measureTransfers(plan: LifecyclePlan, clients: Client[], samples: Samples<LifecycleOperation>): Promise<void> {
  const tarPath = `${plan.workDir}/big.tar`;
  if (plan.parts.includes("cp")) await writeBigTar(tarPath, plan.bigBytes);
  const tarBytes = plan.parts.includes("cp") ? (await stat(tarPath)).size : 0;
  const operations = [...(plan.parts.includes("exec") ? LIFECYCLE_OPERATIONS.exec : []), ...(plan.parts.includes("cp") ? LIFECYCLE_OPERATIONS.cp : [])];
  const argv: Record<(typeof operations)[number], string[]> = {
    "exec cat": ["exec", CONTAINER, "cat", "/big"],
    "cp out": ["cp", `${CONTAINER}:/big`, "-"],
    "cp in": ["cp", "-", `${CONTAINER}:/dir`],
  };
  /** Bytes each path's output was counted at; a path left out has failed its check. */
  const checked = new Map<string, number>();
  const failures = new Map<string, TransferCell>();
  const key = (operation: string, path: LifecyclePath) => `${operation}\t${path}`;
  for (let round = 0; round <= plan.transferRounds; round++) {
    plan.log(`lifecycle: exec/cp round ${round} of ${plan.transferRounds}${round === 0 ? " (checked, not counted)" : ""}`);
    for (const operation of operations) {
      for (const client of turn(clients, round)) {
        if (failures.has(key(operation, client.path))) continue;
        const counting = round === 0 && operation !== "cp in";
        const cell = await timeCommand({
          command: client.command,
          args: argv[operation],
          env: client.env,
          bytes: counting ? "stdout" : operation === "cp in" ? tarBytes : (checked.get(key(operation, client.path)) ?? 0),
          ...(operation === "cp in" ? { stdinPath: tarPath } : {}),
          daemon: client.daemon,
          timeoutMs: plan.timeoutMs,
        });
        if (round > 0) {
          samples.add(operation, client.path, cell);
          plan.log(`lifecycle: ${operation} via ${client.path}: ${describe(cell)}`);
          continue;
        }
        const problem = cell.kind !== "measured" ? describe(cell) : await checkOutput(operation, client, cell.bytes, plan.bigBytes);
        if (problem) {
          plan.log(`lifecycle: ${operation} via ${client.path} fails its check: ${problem}`);
          failures.set(key(operation, client.path), { kind: "failed", message: problem });
          samples.add(operation, client.path, { kind: "failed", message: problem });
        } else if (cell.kind === "measured") checked.set(key(operation, client.path), cell.bytes);
      }
    }
  }
}

/** What is wrong with a checked round's result, or null. */
async function checkOutput(operation: string, client: Client, bytes: number, bigBytes: number): Promise<string | null> {
  switch (operation) {
    case "exec cat":
      return bytes === bigBytes ? null : `${bytes} bytes of output, not ${bigBytes}`;
    case "cp out":
      // The tar: one header, the file, padding and the end marker.
      return bytes > bigBytes && bytes < bigBytes + 64 * 1024 ? null : `a ${bytes}-byte tar for a ${bigBytes}-byte file`;
    default: {
      const size = (await plumb(client, ["exec", CONTAINER, "stat", "-c", "%s", "/dir/big"])).trim();
      return size === String(bigBytes) ? null : `/dir/big is ${size} bytes after the copy, not ${bigBytes}`;
    }
  }
}

/** A tar holding one file, `big`, of `bytes` random bytes (one random MiB over and over). */
async function writeBigTar(path: string, bytes: number): Promise<void> {
  const block = randomFillSync(Buffer.alloc(MIB));
  const content = function* () {
    for (let left = bytes; left > 0; left -= MIB) yield left >= MIB ? block : block.subarray(0, left);
  };
  const entries = [{ type: "file" as const, name: "big", mode: 0o644, mtime: Math.floor(Date.now() / 1000), size: bytes, content: content() }];
  await pipeline(Readable.from(packTar(entries)), createWriteStream(path));
}

const LOG_LINE = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) nerdctld: (.*)$/;

/** One more `run --rm` through nerdctld, with what its log says meanwhile. */
async function traceRun(plan: LifecyclePlan, nerdctld: Client): Promise<TraceLine[]> {
  const from = (await stat(plan.nerdctld.logFile)).size;
  const spawnedAt = Date.now();
  const cell = await timeCommand({ command: nerdctld.command, args: ["run", "--rm", IMAGE, "true"], env: nerdctld.env, bytes: 0, daemon: null, timeoutMs: plan.timeoutMs });
  // The last engine call's line may follow the client's exit by a moment.
  await sleep(500);
  const appended = await readFrom(plan.nerdctld.logFile, from);
  const lines: TraceLine[] = [{ atMs: 0, text: `docker run --rm ${IMAGE} true spawned` }];
  for (const line of appended.split("\n")) {
    const match = LOG_LINE.exec(line);
    if (match) lines.push({ atMs: Date.parse(match[1]!) - spawnedAt, text: match[2]! });
  }
  if (cell.kind === "measured") lines.push({ atMs: Math.round(cell.seconds * 1000), text: "docker run exited" });
  return lines.sort((a, b) => a.atMs - b.atMs);
}
