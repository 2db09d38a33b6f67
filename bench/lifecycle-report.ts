import { percentile } from "./http-latency.ts";
import type { LifecycleOperation, LifecyclePath, LifecycleResults, TraceLine } from "./lifecycle.ts";
import type { Machine, Versions } from "./machine.ts";
import { escapeCell, machineSections, mib, ratio, transferCells } from "./report.ts";
import { median, type TransferCell } from "./transfer.ts";

/** What a report of whole commands says of its run. */
export interface CommandReportHeader {
  command: string;
  startedAt: string;
  loadAverage: { start: number; end: number };
  elapsedSeconds: number;
  machine: Machine;
  versions: Versions;
  /** The docker CLI both daemons were driven with. */
  dockerCli: string;
  notes: string[];
}

export interface LifecycleReport extends CommandReportHeader {
  runRounds: number;
  transferRounds: number;
  results: LifecycleResults;
}

/** The targets the lifecycle is held to. */
const RUN_TIME_LIMIT = 1.2;
const EXEC_THROUGHPUT_FLOOR = 0.9;
const STREAM_GROWTH_LIMIT_KIB = 64 * 1024;

type Measured = Extract<TransferCell, { kind: "measured" }>;

function find(results: LifecycleResults, operation: LifecycleOperation, path: LifecyclePath): TransferCell | undefined {
  return results.rows.find((row) => row.operation === operation && row.path === path)?.cell;
}

function measured(cell: TransferCell | undefined): Measured | undefined {
  return cell?.kind === "measured" ? cell : undefined;
}

/** The median of the rounds' own time ratios a/b (each round ran both back to back), or null. */
export function perRound(a: TransferCell | undefined, b: TransferCell | undefined): number | null {
  const x = measured(a)?.rounds;
  const y = measured(b)?.rounds;
  if (!x || !y || x.length !== y.length) return null;
  return median(x.map((seconds, round) => seconds / y[round]!));
}

function p90(cell: Measured): number {
  return percentile([...(cell.rounds ?? [cell.seconds])].sort((a, b) => a - b), 90);
}

function p90Of(cell: TransferCell | undefined): number | null {
  const value = measured(cell);
  return value ? p90(value) : null;
}

function seconds(value: number): string {
  return value.toFixed(value < 10 ? 3 : 1);
}

export function verdict(pass: boolean | null): string {
  return pass === null ? "not measured" : pass ? "**pass**" : "**FAIL**";
}

/** A log line as the table shows it: ids and long words (the create's label) shortened, the end (a call's duration) kept. */
function shortLine(text: string): string {
  const short = text
    .replace(/\b[0-9a-f]{64}\b/g, (id) => id.slice(0, 12))
    .replace(/\S{60,}/g, (word) => `${word.slice(0, 32)}…`)
    .replace(/\|/g, "\\|");
  return short.length <= 180 ? short : `${short.slice(0, 100)} … ${short.slice(-70)}`;
}

export function otherCells(cell: TransferCell | undefined): string {
  if (!cell) return "— | — | —";
  switch (cell.kind) {
    case "measured":
      return `${seconds(cell.seconds)} | ${seconds(p90(cell))} | ${(cell.rounds ?? [cell.seconds]).map((s) => s.toFixed(2)).join(", ")}`;
    case "n/a":
      return `n/a (${escapeCell(cell.why)}) | — | —`;
    case "not-implemented":
      return "not implemented | — | —";
    case "failed":
      return `failed: ${escapeCell(cell.message)} | — | —`;
  }
}

function traceTable(trace: TraceLine[]): string[] {
  return [
    "| ms after spawn | nerdctld log line |",
    "| --- | --- |",
    ...trace.map((line) => `| ${line.atMs} | ${shortLine(line.text)} |`),
  ];
}

/** Where the hand-written part of the report begins: it is kept when the tables are written again. */
const FINDINGS_HEADING = "## Findings";

/** A report with one more finding at the end of its findings (which begin here when it had none). */
export function withFinding(report: string | null, finding: string): string {
  const text = (report ?? "").trimEnd();
  const findings = text.includes(`\n${FINDINGS_HEADING}\n`) ? text : `${text}\n\n${FINDINGS_HEADING}`;
  return `${findings.trimStart()}\n\n${finding.trimEnd()}\n`;
}

/** The fresh tables, followed by the previous report's findings, if it had any. */
export function withFindings(fresh: string, previous: string | null): string {
  const at = previous?.indexOf(`\n${FINDINGS_HEADING}\n`) ?? -1;
  return at < 0 ? fresh : `${fresh.trimEnd()}\n${previous!.slice(at)}`;
}

export function renderLifecycleReport(report: LifecycleReport): string {
  const { results } = report;
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);
  const targets: string[] = [];
  const operations = new Set(results.rows.map((row) => row.operation));
  const bigMiB = (results.bigBytes / 1024 ** 2).toFixed(0);

  push(
    "# nerdctld benchmark: the container lifecycle",
    "",
    `Written by \`${report.command}\` on ${report.startedAt} (${report.elapsedSeconds.toFixed(0)} s). All numbers come from this ` +
      "one run on this machine. Every command is timed as a user runs it, from spawn to exit: nerdctld and dockerd through " +
      `the same docker CLI (\`${report.dockerCli}\`), nerdctl as itself on nerdctld's engine. The paths take turns within ` +
      "each round, starting one later each round. Ratios divide nerdctld's time by the other path's; \"per round\" is the median " +
      "of the rounds' own ratios (each round ran the paths back to back, so this cancels drift between rounds) and is what " +
      "the targets are judged on.",
    "",
    ...machineSections(report.machine, report.versions, report.loadAverage),
  );

  if (operations.has("run --rm")) {
    const nerdctld = find(results, "run --rm", "nerdctld");
    const nerdctl = find(results, "run --rm", "nerdctl");
    const paired = perRound(nerdctld, nerdctl);
    targets.push(
      `| \`run --rm busybox true\` time, nerdctld ≤ ${RUN_TIME_LIMIT}× nerdctl | ${paired === null ? "—" : ratio(paired, 1)} per round ` +
        `(medians ${ratio(measured(nerdctld)?.seconds ?? null, measured(nerdctl)?.seconds ?? null)}) | ${verdict(paired === null ? null : paired <= RUN_TIME_LIMIT)} |`,
    );
    push(
      "## 1. docker run",
      "",
      `\`run --rm busybox true\`; then \`run -d --name … busybox sleep 3600\` and \`rm -f\` of that container, each timed on its own. ` +
        `${report.runRounds} rounds after one warm-up round. Seconds.`,
      "",
      "| command | path | median | p90 | rounds | nerdctld/nerdctl per round | nerdctld/nerdctl medians | nerdctld/nerdctl p90 | nerdctld/dockerd per round |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const operation of ["run --rm", "run -d", "rm -f"] as const) {
      const mine = find(results, operation, "nerdctld");
      const nerdctl = find(results, operation, "nerdctl");
      for (const path of ["nerdctld", "nerdctl", "dockerd"] as const) {
        const cell = find(results, operation, path);
        const ratios =
          path === "nerdctld"
            ? [
                ratio(perRound(mine, nerdctl), 1),
                ratio(measured(mine)?.seconds ?? null, measured(nerdctl)?.seconds ?? null),
                ratio(p90Of(mine), p90Of(nerdctl)),
                ratio(perRound(mine, find(results, operation, "dockerd")), 1),
              ]
            : ["", "", "", ""];
        push(`| \`${operation}\` | ${path} | ${otherCells(cell)} | ${ratios.join(" | ")} |`);
      }
    }
    if (results.runTrace) {
      push(
        "",
        "One more `docker run --rm busybox true` through nerdctld, as its --debug log tells it: a request's line is written when " +
          "its answer is complete, an `exec` line (a nerdctl call) when the call ends, with how long it took.",
        "",
        ...traceTable(results.runTrace),
      );
    }
    push("");
  }

  const streamSection = (title: string, intro: string, rowOperations: readonly LifecycleOperation[]) => {
    push(
      title,
      "",
      intro,
      "",
      "| command | path | wall s | rounds, s | MB/s | daemon peak RSS growth | client peak RSS | throughput nerdctld/nerdctl per round | nerdctld/dockerd per round |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const operation of rowOperations) {
      const mine = find(results, operation, "nerdctld");
      for (const path of ["nerdctld", "nerdctl", "dockerd"] as const) {
        const cell = find(results, operation, path);
        if (!cell) continue;
        // Throughput: the other path's time over nerdctld's, as the same bytes moved.
        const throughput = (other: LifecyclePath) => {
          const r = perRound(find(results, operation, other), mine);
          return r === null ? "—" : `${(r * 100).toFixed(0)}%`;
        };
        const ratios = path === "nerdctld" ? [throughput("nerdctl"), throughput("dockerd")] : ["", ""];
        push(`| \`${operation}\` | ${path} | ${transferCells(cell).join(" | ")} | ${ratios.join(" | ")} |`);
      }
    }
    push("");
  };

  const streamIntro = (what: string) =>
    `${what} Output goes to /dev/null; each path's first round counts it instead (and checks it), and is not among the ` +
    `${report.transferRounds} timed rounds. MB/s = 10⁶ bytes/s. Daemon growth = the daemon's peak RSS during the command ` +
    "minus its RSS at the start (VmHWM reset at the start where the benchmark owns the daemon), the largest of the rounds.";

  if (operations.has("exec cat")) {
    const nerdctld = find(results, "exec cat", "nerdctld");
    const paired = perRound(find(results, "exec cat", "nerdctl"), nerdctld);
    const growth = measured(nerdctld)?.daemonGrowthKiB ?? null;
    targets.push(
      `| \`exec … cat /big\` throughput, nerdctld ≥ ${EXEC_THROUGHPUT_FLOOR * 100}% of nerdctl | ${paired === null ? "—" : `${(paired * 100).toFixed(0)}%`} per round | ${verdict(paired === null ? null : paired >= EXEC_THROUGHPUT_FLOOR)} |`,
      `| \`exec … cat /big\`, nerdctld's RSS growth < ${STREAM_GROWTH_LIMIT_KIB / 1024} MiB | ${growth === null ? "—" : mib(growth)} | ${verdict(growth === null ? null : growth < STREAM_GROWTH_LIMIT_KIB)} |`,
    );
    streamSection(
      "## 2. docker exec",
      streamIntro(`\`exec ${results.container} cat /big\`, /big being ${bigMiB} MiB of random bytes made with dd inside the container.`),
      ["exec cat"],
    );
  }

  if (operations.has("cp out") || operations.has("cp in")) {
    streamSection(
      "## 3. docker cp",
      streamIntro(
        `\`cp ${results.container}:/big -\` (the tar on stdout) and \`cp - ${results.container}:/dir\` (a tar of one ${bigMiB} MiB file on stdin, ` +
          "replacing the one the previous command unpacked). nerdctld reads and writes the container's root filesystem itself; " +
          "nerdctl cp runs the host's tar in it (and copies a single file to a temporary directory first).",
      ),
      ["cp out", "cp in"].filter((operation) => operations.has(operation as LifecycleOperation)) as LifecycleOperation[],
    );
  }

  if (targets.length > 0) push("## Targets", "", "| target | measured | verdict |", "| --- | --- | --- |", ...targets, "");
  if (report.notes.length > 0) push("## Notes", "", ...report.notes.map((note) => `- ${note}`), "");
  return lines.join("\n");
}
