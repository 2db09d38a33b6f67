import type { Latency, LatencyRow } from "./http-latency.ts";
import type { Machine, Versions } from "./machine.ts";
import type { Throughput } from "./throughput.ts";
import { median, TRANSFER_PATHS, type TransferCell, type TransferOperation, type TransferPath, type TransferRow } from "./transfer.ts";

export interface ThroughputRow {
  label: string;
  nerdctld: Throughput;
  dockerd: Throughput;
}

/** One daemon's memory: idle, then over the throughput phase. */
export interface RssRow {
  daemon: "nerdctld" | "dockerd";
  pid: number;
  idleKiB: number;
  /** Peak over the load phase (VmHWM reset at its start where exact, else sampled VmRSS). */
  loadPeakKiB: number;
  exact: boolean;
}

export interface BenchSettings {
  mode: "quick" | "full";
  fastIterations: number;
  slowIterations: number;
  warmup: number;
  timeCapSeconds: number;
  clients: number;
  throughputSeconds: number;
  /** The same load before each measurement, not counted. */
  throughputWarmupSeconds: number;
  largeImageBytes: number;
  transferRounds: number;
}

export interface BenchResults {
  /** The command line as typed, flags included. */
  command: string;
  startedAt: string;
  /** 1-minute load average at the start and at the end: other work on the machine skews every number. */
  loadAverage: { start: number; end: number };
  elapsedSeconds: number;
  settings: BenchSettings;
  machine: Machine;
  versions: Versions;
  latency: LatencyRow[];
  throughput: ThroughputRow[];
  rss: { nerdctld: RssRow | null; dockerd: RssRow | null; dockerdMissing: string };
  transfer: TransferRow[];
  notes: string[];
}

const MIB = 1024 * 1024;

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

export function ratio(a: number | null, b: number | null): string {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "—";
  const r = a / b;
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}×`;
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

function latencyCell(cell: Latency): string {
  switch (cell.kind) {
    case "measured":
      return `${ms(cell.p50)} / ${ms(cell.p95)}${cell.cappedByTime ? ` (n=${cell.n}, time cap)` : ""}`;
    case "not-implemented":
      return "501 (not implemented)";
    case "n/a":
      return "n/a";
    case "failed":
      return `failed: ${escapeCell(cell.message)}`;
  }
}

function p(cell: Latency, which: "p50" | "p95"): number | null {
  return cell.kind === "measured" ? cell[which] : null;
}

function latencyRatio(a: Latency, b: Latency): string {
  if (a.kind !== "measured" || b.kind !== "measured") return "—";
  return `${ratio(p(a, "p50"), p(b, "p50"))} / ${ratio(p(a, "p95"), p(b, "p95"))}`;
}

export function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ").slice(0, 160);
}

function throughputCell(cell: Throughput): string {
  switch (cell.kind) {
    case "measured":
      return `${cell.perSecond.toFixed(0)}${cell.errors > 0 ? ` (${cell.errors} errors)` : ""}`;
    case "not-implemented":
      return "501 (not implemented)";
    case "n/a":
      return "n/a";
    case "failed":
      return `failed: ${escapeCell(cell.message)}`;
  }
}

function perSecond(cell: Throughput): number | null {
  return cell.kind === "measured" ? cell.perSecond : null;
}

function transferFind(rows: TransferRow[], path: TransferPath, operation: TransferOperation): TransferCell | undefined {
  return rows.find((row) => row.path === path && row.operation === operation)?.cell;
}

function seconds(cell: TransferCell | undefined): number | null {
  return cell?.kind === "measured" ? cell.seconds : null;
}

/** The median of the per-round time ratios: each round's paths ran back to back, so this cancels drift between rounds. */
export function pairedRatio(a: TransferCell | undefined, b: TransferCell | undefined): string {
  if (a?.kind !== "measured" || b?.kind !== "measured" || !a.rounds || a.rounds.length !== b.rounds?.length) return "—";
  const perRound = a.rounds.map((seconds, round) => seconds / b.rounds![round]!);
  return ratio(median(perRound), 1);
}

export function transferCells(cell: TransferCell): string[] {
  switch (cell.kind) {
    case "measured": {
      const growth = cell.daemonGrowthKiB === null ? "no daemon" : `${mib(cell.daemonGrowthKiB)}${cell.daemonPeakExact ? "" : " (sampled)"}`;
      const rounds = cell.rounds ? cell.rounds.map((seconds) => seconds.toFixed(1)).join(", ") : cell.seconds.toFixed(1);
      return [cell.seconds.toFixed(2), rounds, (cell.bytes / 1e6 / cell.seconds).toFixed(1), growth, mib(cell.clientPeakKiB)];
    }
    case "not-implemented":
      return ["not implemented (501)", "—", "—", "—", "—"];
    case "n/a":
      return [`n/a (${escapeCell(cell.why)})`, "—", "—", "—", "—"];
    case "failed":
      return [`failed: ${escapeCell(cell.message)}`, "—", "—", "—", "—"];
  }
}

/** The machine and the programs a report's numbers come from. */
export function machineSections(machine: Machine, versions: Versions, loadAverage: { start: number; end: number }): string[] {
  return [
    "## Machine",
    "",
    "| | |",
    "| --- | --- |",
    `| CPU | ${machine.cpuModel} |`,
    `| cores | ${machine.cores} |`,
    `| memory | ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB |`,
    `| kernel | ${machine.kernel} |`,
    `| OS | ${machine.os} |`,
    `| load average (1 min), start → end | ${loadAverage.start.toFixed(2)} → ${loadAverage.end.toFixed(2)} |`,
    "",
    "## Versions",
    "",
    "| | |",
    "| --- | --- |",
    `| nerdctld | ${versions.nerdctld} |`,
    `| nerdctl | ${versions.nerdctl} |`,
    `| containerd (nerdctld's managed engine) | ${versions.containerd} |`,
    `| dockerd | ${versions.dockerd} |`,
    `| docker CLI (both daemons) | ${escapeCell(versions.dockerCli)} |`,
    `| Node.js | ${versions.node} |`,
    "",
  ];
}

export function renderReport(results: BenchResults): string {
  const { machine, versions, settings } = results;
  const lines: string[] = [];
  const push = (...more: string[]) => lines.push(...more);

  push(
    "# nerdctld benchmark",
    "",
    `Written by \`${results.command}\` on ${results.startedAt} ` +
      `(${settings.mode} run, ${results.elapsedSeconds.toFixed(0)} s). All numbers come from this one run on this machine; ` +
      "ratios divide nerdctld's number by the other path's: for times and memory below 1× means nerdctld is faster or " +
      "smaller, for requests/s above 1× means nerdctld serves more.",
    "",
    ...machineSections(machine, versions, results.loadAverage),
    "## 1. Latency, p50 / p95 in ms",
    "",
    `HTTP over the unix socket on one keep-alive connection, ${settings.warmup} warm-up requests, then ` +
      `${settings.fastIterations} requests, at most ` +
      `${settings.timeCapSeconds} s per cell. nerdctl: the whole \`nerdctl …\` process, ${settings.slowIterations} runs. ` +
      "Paths are versioned /v1.41 (dockerd 20.10's maximum) except /_ping. Operations nerdctld does not implement yet " +
      "answer 501 at once: they are listed as such, not timed, and stay in the table for later runs to fill in.",
    "",
    "| endpoint | nerdctld | nerdctl | dockerd | nerdctld/dockerd | nerdctld/nerdctl |",
    "| --- | --- | --- | --- | --- | --- |",
  );
  for (const row of results.latency) {
    push(
      `| ${row.endpoint.label} | ${latencyCell(row.nerdctld)} | ${latencyCell(row.nerdctl)} | ${latencyCell(row.dockerd)} | ` +
        `${latencyRatio(row.nerdctld, row.dockerd)} | ${latencyRatio(row.nerdctld, row.nerdctl)} |`,
    );
  }
  push(
    "",
    "nerdctl equivalents: " +
      results.latency
        .filter((row) => row.endpoint.nerdctlArgs)
        .map((row) => `${row.endpoint.label} = \`nerdctl ${row.endpoint.nerdctlArgs!.join(" ")}\``)
        .join("; ") +
      ".",
    "",
    "## 2. Throughput, requests/s",
    "",
    `${settings.clients} concurrent clients, each on its own keep-alive connection, for ${settings.throughputSeconds} s per endpoint, after ${settings.throughputWarmupSeconds} s of the same load that is not counted (for either daemon: a JIT compiles what the load runs).`,
    "",
    "| endpoint | nerdctld | dockerd | nerdctld/dockerd |",
    "| --- | --- | --- | --- |",
  );
  for (const row of results.throughput) {
    push(`| ${row.label} | ${throughputCell(row.nerdctld)} | ${throughputCell(row.dockerd)} | ${ratio(perSecond(row.nerdctld), perSecond(row.dockerd))} |`);
  }
  const { nerdctld, dockerd } = results.rss;
  const rssLine = (row: RssRow | null, name: string) =>
    row
      ? `| ${name} (pid ${row.pid}) | ${mib(row.idleKiB)} | ${mib(row.loadPeakKiB)}${row.exact ? "" : " (sampled)"} | ${mib(row.loadPeakKiB - row.idleKiB)} |`
      : `| ${name} | n/a (${escapeCell(results.rss.dockerdMissing)}) | — | — |`;
  push(
    "",
    "## 3. Memory of the daemon process",
    "",
    "VmRSS from /proc/<pid>/status: idle after start-up and seeding, before any benchmark traffic; under load = the peak " +
      "over the throughput phase (VmHWM reset at its start, where the benchmark owns the process). The daemon process only: " +
      "nerdctld's nerdctl children and either engine's containerd are not counted.",
    "",
    "| daemon | idle | peak under load | growth |",
    "| --- | --- | --- | --- |",
    rssLine(nerdctld, "nerdctld"),
    rssLine(dockerd, "dockerd"),
    `| nerdctld/dockerd | ${ratio(nerdctld?.idleKiB ?? null, dockerd?.idleKiB ?? null)} | ${ratio(nerdctld?.loadPeakKiB ?? null, dockerd?.loadPeakKiB ?? null)} | — |`,
    "",
    "## 4. Image transfer",
    "",
    `\`docker load\` / \`docker save\` (Debian's docker CLI) through nerdctld and dockerd, and plain \`nerdctl load\` / \`nerdctl save\`, ` +
      `of one locally made image with a ${(settings.largeImageBytes / MIB).toFixed(0)} MiB random layer. The image is removed before each load; ` +
      "saves stream to the benchmark, which counts and drops the bytes. MB/s = 10⁶ bytes/s of archive. Daemon growth = peak RSS " +
      `during the transfer minus RSS at its start. ${settings.transferRounds} rounds, the paths taking turns in each: wall s and MB/s are ` +
      "the median round, RSS the largest.",
    "",
    `Time ratios are nerdctld's median over the other path's median, except "per round", the median of the rounds' own ratios. ` +
      `\`${TRANSFER_PATHS[2]}\` is plain nerdctl with the Go collector setting nerdctld gives the nerdctl it runs for transfers.`,
    "",
    `| operation | path | wall s | rounds, s | MB/s | daemon peak RSS growth | client peak RSS | time nerdctld/dockerd | time nerdctld/nerdctl | per round nerdctld/nerdctl | time nerdctld/${TRANSFER_PATHS[2]} |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const operation of ["load", "save"] as const) {
    const find = (path: TransferPath) => transferFind(results.transfer, path, operation);
    for (const path of TRANSFER_PATHS) {
      const cell = find(path);
      if (!cell) continue;
      const mine = seconds(find("nerdctld"));
      const ratios =
        path === "nerdctld"
          ? [
              ratio(mine, seconds(find("dockerd"))),
              ratio(mine, seconds(find("nerdctl"))),
              pairedRatio(find("nerdctld"), find("nerdctl")),
              ratio(mine, seconds(find(TRANSFER_PATHS[2]))),
            ]
          : ["", "", "", ""];
      push(`| ${operation} | ${path} | ${transferCells(cell).join(" | ")} | ${ratios.join(" | ")} |`);
    }
  }
  if (results.notes.length > 0) {
    push("", "## Notes", "", ...results.notes.map((note) => `- ${note}`));
  }
  push("");
  return lines.join("\n");
}
