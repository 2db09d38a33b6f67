import type { ClientPath } from "./clients.ts";
import type { Latency } from "./http-latency.ts";
import { otherCells, perRound, verdict, type CommandReportHeader } from "./lifecycle-report.ts";
import { GROWTH_READS, READ_COMMANDS, type CommandsAtSize, type GrowthCell, type GrowthKind, type GrowthRow, type HeldCounts, type QuietRss, type ReadOperation, type ReadsResults } from "./reads.ts";
import { escapeCell, machineSections, mib, ratio } from "./report.ts";
import type { TransferCell } from "./transfer.ts";

export interface ReadsReport extends CommandReportHeader {
  rounds: number;
  httpIterations: number;
  commandIterations: number;
  results: ReadsResults;
}

/** The targets reads are held to. */
const COMMAND_TIME_LIMIT = 1.5;
/** A listing's p50 through nerdctld at most this many times dockerd's, at every size. */
const HTTP_P50_LIMIT = 3;
/** The state for this many containers and images adds at most STATE_LIMIT_KIB to nerdctld's RSS. */
const STATE_TARGET = { containers: 1000, images: 500 };
const STATE_LIMIT_KIB = 64 * 1024;

type CommandResults = Pick<ReadsResults, "commands" | "nerdctldCalls">;

function find(results: CommandResults, operation: ReadOperation, path: ClientPath): TransferCell | undefined {
  return results.commands.find((row) => row.operation === operation && row.path === path)?.cell;
}

function outputBytes(cell: TransferCell | undefined): string {
  return cell?.kind === "measured" ? String(cell.bytes) : "—";
}

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

function p50(cell: GrowthCell): number | null {
  return cell.kind === "measured" && cell.latency.kind === "measured" ? cell.latency.p50 : null;
}

function latencyText(latency: Latency): string {
  switch (latency.kind) {
    case "measured":
      return `${ms(latency.p50)} / ${ms(latency.p95)}${latency.cappedByTime ? ` (n=${latency.n}, time cap)` : ""}`;
    case "failed":
      return `failed: ${escapeCell(latency.message)}`;
    case "n/a":
      return `n/a (${escapeCell(latency.why)})`;
    case "not-implemented":
      return "501 (not implemented)";
  }
}

/** A growth cell as three columns: listed, p50 / p95 ms, bytes. */
function growthCells(cell: GrowthCell): string[] {
  switch (cell.kind) {
    case "measured":
      return [String(cell.count), latencyText(cell.latency), String(cell.bytes)];
    case "failed":
      return ["—", `failed: ${escapeCell(cell.message)}`, "—"];
    case "n/a":
      return ["—", `n/a (${escapeCell(cell.why)})`, "—"];
  }
}

function callsText(calls: number[] | undefined): string {
  if (!calls || calls.length === 0) return "—";
  const [least, most] = [Math.min(...calls), Math.max(...calls)];
  return least === most ? String(least) : `${least}–${most}`;
}

function settlingText(row: Pick<GrowthRow, "settling" | "nerdctldCalls">): string {
  const { settling } = row;
  const timed = row.nerdctldCalls === null ? "" : `; ${row.nerdctldCalls} nerdctl calls while timed`;
  if (settling.kind === "unsettled") return settling.why === "" ? "—" : `not settled: ${escapeCell(settling.why)}${timed}`;
  return `${ms(settling.firstReadMs)} ms, then ${ms(settling.fastReadMs)} ms; ${(settling.afterMs / 1000).toFixed(1)} s (${settling.reads} reads)${timed}`;
}

function populateText(row: Pick<GrowthRow, "populateSeconds">): string {
  const parts = (["nerdctl", "dockerd"] as const)
    .filter((engine) => row.populateSeconds[engine] !== undefined)
    .map((engine) => `${engine} ${row.populateSeconds[engine]!.toFixed(1)}`);
  return parts.length === 0 ? "—" : parts.join(", ");
}

/** From the smallest size to the largest: how much the p50 and the answer grew, and whether the p50 grew no faster. */
interface Growth {
  p50Factor: number;
  bytesFactor: number;
  from: number;
  to: number;
}

function growthOf(rows: GrowthRow[], path: "nerdctld" | "dockerd" | "nerdctl"): Growth | null {
  const first = rows[0];
  const last = rows.at(-1);
  if (!first || !last || first === last) return null;
  const [a, b] = [first[path], last[path]];
  const [pa, pb] = [p50(a), p50(b)];
  if (pa === null || pb === null || a.kind !== "measured" || b.kind !== "measured") return null;
  return { p50Factor: pb / pa, bytesFactor: b.bytes / a.bytes, from: first.size, to: last.size };
}

function growthText(growth: Growth | null): string {
  if (!growth) return "not measured";
  return `p50 ×${growth.p50Factor.toFixed(2)} for an answer ×${growth.bytesFactor.toFixed(2)} (${growth.from} → ${growth.to})`;
}

const GROWTH_TITLES: Record<GrowthKind, { title: string; nerdctl: string; dockerdRead: string }> = {
  containers: { title: "Containers", nerdctl: "`nerdctl ps -a`", dockerdRead: "GET /containers/json?all=1" },
  images: { title: "Images", nerdctl: "`nerdctl images`", dockerdRead: "GET /images/json" },
};

function rssRow(label: string, held: string, rss: QuietRss | null, dockerdMissing: boolean): string {
  const cell = (kib: number | null | undefined) => (kib === null || kib === undefined ? "—" : mib(kib));
  return `| ${label} | ${held} | ${cell(rss?.nerdctld)} | ${dockerdMissing ? "n/a" : cell(rss?.dockerd)} |`;
}

/** Part 1's table of these commands (each path a row), and each command's line of the targets. */
function commandsTable(results: CommandResults, operations: readonly ReadOperation[], dockerdMissing: boolean): { lines: string[]; targets: string[] } {
  const lines = [
    "| command | path | median | p90 | rounds | output bytes | nerdctl calls per run | nerdctld/dockerd per round | nerdctld/nerdctl per round | verdict |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const targets: string[] = [];
  for (const operation of operations) {
    const mine = find(results, operation, "nerdctld");
    const paired = perRound(mine, find(results, operation, "dockerd"));
    const judged = verdict(paired === null ? null : paired <= COMMAND_TIME_LIMIT);
    targets.push(`| \`docker ${operation}\` time, nerdctld ≤ ${COMMAND_TIME_LIMIT}× dockerd | ${ratio(paired, 1)} per round | ${judged} |`);
    for (const path of ["nerdctld", "nerdctl", "dockerd"] as const) {
      const cell = path === "dockerd" && dockerdMissing ? ({ kind: "n/a", why: "no dockerd" } as const) : find(results, operation, path);
      const ratios = path === "nerdctld" ? [ratio(paired, 1), ratio(perRound(mine, find(results, operation, "nerdctl")), 1), judged] : ["", "", ""];
      const calls = path === "nerdctld" ? callsText(results.nerdctldCalls[operation]) : "";
      lines.push(`| \`${operation}\` | ${path} | ${otherCells(cell)} | ${outputBytes(cell)} | ${calls} | ${ratios.join(" | ")} |`);
    }
  }
  return { lines, targets };
}

export function renderReadsReport(report: ReadsReport): string {
  const { results } = report;
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  const targets: string[] = [];
  const dockerdMissing = results.commandsRanWith.dockerd === null;

  push(
    "# nerdctld benchmark: reads",
    "",
    `Written by \`${report.command}\` on ${report.startedAt} (${report.elapsedSeconds.toFixed(0)} s). All numbers come from this ` +
      "one run on this machine. nerdctld answers reads from the state it keeps of its namespace, current as of the engine's " +
      "events; dockerd from its own memory; plain nerdctl reads containerd (and its own files) at every call. Ratios divide " +
      "nerdctld's number by the other path's.",
    "",
    ...machineSections(report.machine, report.versions, report.loadAverage),
  );

  const ranWith = (daemon: "nerdctld" | "dockerd") => {
    const counts = results.commandsRanWith[daemon];
    return counts ? `${daemon} ${counts.containers} containers and ${counts.images} images` : `no ${daemon}`;
  };
  push(
    "## 1. Reads as a user runs them",
    "",
    `Each command timed from spawn to exit, its output read through a pipe: nerdctld and dockerd through the same docker CLI ` +
      `(\`${report.dockerCli}\`), nerdctl as itself on nerdctld's engine, with the same words. Each path ran each command once ` +
      `untimed first, its output checked; then ${report.rounds} rounds, the paths taking turns within each round and starting one ` +
      `later each round. The namespaces as seeded: ${ranWith("nerdctld")} listed; ${ranWith("dockerd")}. ` +
      "`<container>` is a running busybox container of the same name on both engines. \"Per round\" is the median of the " +
      `rounds' own ratios (each round ran the paths back to back) and is what the target (nerdctld ≤ ${COMMAND_TIME_LIMIT}× dockerd) ` +
      "is judged on. Seconds. \"nerdctl calls per run\": the calls nerdctld's --debug log shows during each timed run through it, " +
      "as min–max over the rounds (0: answered from its state).",
    "",
  );
  const table = commandsTable(results, READ_COMMANDS.map((command) => command.operation), dockerdMissing);
  push(...table.lines);
  targets.push(...table.targets);
  push("");

  const sizes = (kind: GrowthKind) => results.growth.filter((row) => row.kind === kind).map((row) => row.size).join(", ");
  push(
    "## 2. Growth with the namespace",
    "",
    `The namespaces grown to ${sizes("containers")} containers (the seeded ones counted; of those the benchmark adds, every ` +
      "other one runs `sleep`, the rest are created, all busybox with no network), then, with the most containers still " +
      `there, to ${sizes("images")} images (distinct tiny images, one layer each, loaded from one archive). On nerdctld's engine ` +
      `they are added with plain nerdctl, ${results.parallel} at a time, so nerdctld learns of them from the engine's events, as of ` +
      "any change made outside it; on dockerd with the docker CLI, likewise. nerdctld's state re-reads only what changed, at the first " +
      "read after a change: after each size was reached its listing was read until it listed everything and three reads in a row " +
      "answered from the state, with no nerdctl call in nerdctld's --debug log (\"settling\": the first read, the median of those three, " +
      `how long it took, and the nerdctl calls the log shows while nerdctld's cell was timed), and only then timed. HTTP: one keep-alive connection, ${report.httpIterations} requests after a few untimed ones, p50 / p95 in ms, ` +
      `API version 1.41 on both. nerdctl: the whole process, ${report.commandIterations} runs, its table output's bytes and lines. ` +
      "\"listed\" is what the answer held (nerdctl: lines below the header; `nerdctl images` also shows the untagged " +
      "`import` record each `nerdctl load` of an OCI archive leaves, which the API's listings leave out).",
    "",
  );
  for (const kind of ["containers", "images"] as const) {
    const rows = results.growth.filter((row) => row.kind === kind);
    const names = GROWTH_TITLES[kind];
    push(
      `### ${names.title}: ${GROWTH_READS[kind].path.replace("/v1.41", "")} and ${names.nerdctl}`,
      "",
      `| ${kind} | nerdctld listed | nerdctld p50 / p95 | nerdctld bytes | dockerd listed | dockerd p50 / p95 | dockerd bytes | nerdctld/dockerd p50 | ` +
        `nerdctl listed | ${names.nerdctl} p50 / p95 | nerdctl bytes | nerdctld settling | added in, s |`,
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const row of rows) {
      push(
        `| ${row.size} | ${growthCells(row.nerdctld).join(" | ")} | ${growthCells(row.dockerd).join(" | ")} | ${ratio(p50(row.nerdctld), p50(row.dockerd))} | ` +
          `${growthCells(row.nerdctl).join(" | ")} | ${settlingText(row)} | ${populateText(row)} |`,
      );
    }
    const mine = growthOf(rows, "nerdctld");
    const judged = verdict(mine === null ? null : mine.p50Factor <= mine.bytesFactor);
    push(
      "",
      `p50 grows no faster than response size, smallest to largest: nerdctld ${growthText(mine)}: ${judged}; ` +
        `dockerd ${growthText(growthOf(rows, "dockerd"))}; nerdctl ${growthText(growthOf(rows, "nerdctl"))}.`,
      "",
    );
    const ratios = rows.map((row) => {
      const [a, b] = [p50(row.nerdctld), p50(row.dockerd)];
      return a === null || b === null ? null : a / b;
    });
    const measuredRatios = ratios.filter((value): value is number => value !== null);
    const within = verdict(measuredRatios.length === 0 || measuredRatios.length < ratios.length ? null : measuredRatios.every((value) => value <= HTTP_P50_LIMIT));
    const ratioList = rows.map((row, index) => `${row.size}: ${ratio(ratios[index] ?? null, 1)}`).join(", ");
    targets.push(`| ${names.dockerdRead} p50, nerdctld ≤ ${HTTP_P50_LIMIT}× dockerd at every size | ${ratioList} | ${within} |`);
    targets.push(`| ${names.dockerdRead} through nerdctld: p50 grows no faster than the answer | ${growthText(mine)} | ${judged} |`);
  }

  const { memory } = results;
  const target = `${STATE_TARGET.containers} containers and ${STATE_TARGET.images} images`;
  const { grown } = memory;
  const held = "failed" in grown ? null : grown.held;
  const reached = held !== null && held.containers >= STATE_TARGET.containers && held.images >= STATE_TARGET.images;
  const many = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  const heldText = (counts: HeldCounts | null) => (counts ? `${many(counts.containers, "container")} and ${many(counts.images, "image")}` : "—");
  push(
    "## 3. Memory of nerdctld's state",
    "",
    "After the growth tables, nerdctld's engine alone was grown further with plain nerdctl, the containers added this time only " +
      "created (dockerd's namespace stays as the tables left it), and nerdctld's listings read until its state held all of it" +
      `${"failed" in memory.grown ? "" : ` (adding took ${memory.grown.addedSeconds.toFixed(0)} s)`}. VmRSS of the daemon process, each the median ` +
      "of ten samples over 2 s after 3 s without requests: before the namespace grew (after part 1), and once the state held the " +
      "grown namespace (before any timed read of it). dockerd's alongside, for scale.",
    "",
    "| when | nerdctld listed | nerdctld | dockerd |",
    "| --- | --- | --- | --- |",
    rssRow("before the namespace grew", heldText(memory.heldBefore), memory.before, dockerdMissing),
    "failed" in grown ? `| grown | not held: ${escapeCell(grown.failed)} | — | — |` : rssRow("grown", heldText(grown.held), grown.rss, dockerdMissing),
    "",
  );
  const judgeState = (measured: number | null, label: string) => {
    const cell = measured === null ? "—" : mib(measured);
    const judged = reached ? verdict(measured === null ? null : measured <= STATE_LIMIT_KIB) : `not judged (held ${heldText(held)})`;
    targets.push(`| nerdctld's state of ${target} takes ≤ ${mib(STATE_LIMIT_KIB)} (${label}) | ${cell} | ${judged} |`);
  };
  const rssAdded = "failed" in grown || grown.rss.nerdctld === null || memory.before.nerdctld === null ? null : grown.rss.nerdctld - memory.before.nerdctld;
  push(
    `This daemon's RSS grew by ${rssAdded === null ? "—" : mib(rssAdded)} from ${heldText(memory.heldBefore)} to ${heldText(held)}. That ` +
      "is more than its state: the \"before\" was read ahead of the growth tables, so the difference also holds what their timed " +
      "load (thousands of answers of up to a MiB, nerdctl's outputs for 500 containers) left in V8's heap and malloc's free lists, " +
      "which a process seldom hands back.",
    "",
  );
  const { fresh } = memory;
  if ("failed" in fresh) {
    push(`Fresh daemons: not measured (${escapeCell(fresh.failed)}).`, "");
    judgeState(null, "RSS added, fresh daemons");
  } else {
    const row = (label: string, daemon: typeof fresh.empty) =>
      `| ${label} | ${heldText(daemon.held)} | ${daemon.heldAfterSeconds.toFixed(0)} s | ${mib(daemon.quietKiB)} | ${mib(daemon.idleKiB)} |`;
    const added = fresh.grown.idleKiB - fresh.empty.idleKiB;
    push(
      "What the state alone adds: two fresh nerdctlds on nerdctld's engine, one after the other, with nothing else different: one in " +
        "an empty namespace, one in the grown one. Each was read until its listings held its namespace, then left without requests: " +
        "VmRSS 3 s later (the median of ten samples over 2 s, as above), and the lowest of readings every 2 s over the next 30 s " +
        "(V8 gives back what start-up and the first reads left once the daemon is idle).",
      "",
      "| fresh nerdctld | listed | held after | RSS, 3 s quiet | RSS, lowest over 30 s idle |",
      "| --- | --- | --- | --- | --- |",
      row("empty namespace", fresh.empty),
      row("grown namespace", fresh.grown),
      "",
      `The state of ${heldText(fresh.grown.held)} adds ${mib(added)} to a fresh nerdctld's idle RSS ` +
        `(${mib(fresh.grown.quietKiB - fresh.empty.quietKiB)} 3 s after the reads).`,
      "",
    );
    judgeState(added, "RSS added, fresh daemons idle");
  }
  const { weight } = memory;
  if ("failed" in weight) {
    push(`The state's records weighed exactly: not measured (${escapeCell(weight.failed)}).`, "");
    judgeState(null, "heap of its records");
  } else {
    const heapKiB = (weight.containers.heapBytes + weight.images.heapBytes) / 1024;
    const each = (part: { count: number; heapBytes: number }) => `${(part.heapBytes / 1024 / part.count).toFixed(1)} KiB each`;
    push(
      "The same records weighed exactly: nerdctld's own state code (a NamespaceState) reading the grown namespace, in the " +
        "benchmark's process, the heap measured after a full collection before and after each kind: " +
        `${weight.containers.count} containers ${mib(weight.containers.heapBytes / 1024)} (${each(weight.containers)}), ` +
        `${weight.images.count} images ${mib(weight.images.heapBytes / 1024)} (${each(weight.images)}); together ${mib(heapKiB)}. ` +
        "This is what the state itself holds; the daemon's RSS adds the collector's slack on top.",
      "",
    );
    judgeState(heapKiB, "heap of its records");
  }

  push("## Targets", "", "| target | measured | verdict |", "| --- | --- | --- |", ...targets, "");
  if (report.notes.length > 0) push("## Notes", "", ...report.notes.map((note) => `- ${note}`), "");
  return lines.join("\n");
}

export interface ReadCommandsReport extends CommandReportHeader {
  rounds: number;
  operations: readonly ReadOperation[];
  rows: CommandsAtSize[];
}

/**
 * A reduced run's findings: some of part 1's commands at some sizes of the
 * namespace, as a section of READS.md's findings (the full report's tables
 * stay as they are).
 */
export function renderReadCommandsFinding(report: ReadCommandsReport): string {
  const { machine, versions } = report;
  const named = report.operations.map((operation) => `\`${operation}\``).join(", ");
  const sizeName = (size: number) => (size === 0 ? "as seeded" : `at ${size} containers`);
  const lines = [
    `### ${report.startedAt.slice(0, 10)}: ${named}, ${report.rows.map((row) => sizeName(row.size)).join(", then ")} (reduced run)`,
    "",
    `Written by \`${report.command}\` on ${report.startedAt} (${report.elapsedSeconds.toFixed(0)} s): part 1's commands named ` +
      `only, timed as part 1 times them (each once untimed and checked, then ${report.rounds} rounds, the paths taking turns), ` +
      "with both namespaces first grown as part 2 grows them (containers added with plain nerdctl on nerdctld's engine and the " +
      "docker CLI on dockerd, every other one running `sleep`) and nerdctld's state settled; no growth tables, no memory. " +
      `${machine.cores} cores (${machine.cpuModel}), ${machine.os}, load average (1 min) ${report.loadAverage.start.toFixed(2)} → ` +
      `${report.loadAverage.end.toFixed(2)}; nerdctld ${versions.nerdctld}, nerdctl ${versions.nerdctl}, containerd ${versions.containerd}, ` +
      `dockerd ${versions.dockerd}, docker CLI \`${report.dockerCli}\` (${escapeCell(versions.dockerCli)}). Seconds.`,
    "",
  ];
  const targets: string[] = [];
  for (const row of report.rows) {
    const held = (daemon: "nerdctld" | "dockerd") => {
      const counts = row.commandsRanWith[daemon];
      return counts ? `${daemon} ${counts.containers} containers and ${counts.images} images` : `no ${daemon}`;
    };
    const settled = row.settling === null ? "" : `; nerdctld's state settling: ${settlingText({ settling: row.settling, nerdctldCalls: null })}`;
    const added = Object.keys(row.populateSeconds).length === 0 ? "" : `; added in ${populateText(row)} s`;
    const table = commandsTable(row, report.operations, row.commandsRanWith.dockerd === null);
    lines.push(`#### ${sizeName(row.size)}`, "", `Listed while the commands ran: ${held("nerdctld")}; ${held("dockerd")}${added}${settled}.`, "", ...table.lines, "");
    targets.push(...table.targets.map((line) => line.replace(/^\| /, `| ${sizeName(row.size)}: `)));
  }
  lines.push("| target | measured | verdict |", "| --- | --- | --- |", ...targets, "");
  if (report.notes.length > 0) lines.push(...report.notes.map((note) => `- ${note}`), "");
  return lines.join("\n");
}
