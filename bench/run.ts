/**
 * `npm run bench`: nerdctld against plain nerdctl and Debian's dockerd on this
 * machine, with the same locally made images, in one run; writes RESULTS.md.
 *
 *   --quick            small iteration counts, 1 s throughput, 64 MiB image
 *   --large-size SIZE  the transfer image's random layer: bytes, or 64MiB, 1GiB, … (default 1GiB)
 *   --rounds N         how many times each transfer runs (default 5, quick 3); the median is reported
 *   --out PATH         where the report goes (default bench/RESULTS.md)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { writeLargeImage } from "../e2e/support/images.ts";
import { benchDockerCli, startDockerd, startNerdctld, type BenchDaemon, type NerdctldUnderBench } from "./engines.ts";
import { measureLatencies, type LatencyBudget } from "./http-latency.ts";
import { collectVersions, describeMachine } from "./machine.ts";
import { parseSize } from "./size.ts";
import { renderReport, type BenchSettings, type RssRow, type ThroughputRow } from "./report.ts";
import { PeakWatcher, readMemory } from "./rss.ts";
import { measureThroughput } from "./throughput.ts";
import { measureTransfers } from "./transfer.ts";

function settingsFrom(quick: boolean, largeSize: string | undefined, rounds: string | undefined): BenchSettings {
  const base = quick
    ? { mode: "quick" as const, fastIterations: 30, slowIterations: 5, warmup: 2, timeCapSeconds: 5, clients: 50, throughputSeconds: 1, largeImageBytes: 64 * 1024 ** 2, transferRounds: 3 }
    : { mode: "full" as const, fastIterations: 200, slowIterations: 30, warmup: 5, timeCapSeconds: 30, clients: 50, throughputSeconds: 5, largeImageBytes: 1024 ** 3, transferRounds: 5 };
  const transferRounds = rounds === undefined ? base.transferRounds : Number(rounds);
  if (!Number.isInteger(transferRounds) || transferRounds < 1) throw new Error(`--rounds: a whole number of at least 1, not ${JSON.stringify(rounds)}`);
  return { ...base, transferRounds, ...(largeSize === undefined ? {} : { largeImageBytes: parseSize(largeSize, "--large-size") }) };
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      "large-size": { type: "string" },
      rounds: { type: "string" },
      out: { type: "string", default: join(import.meta.dirname, "RESULTS.md") },
    },
  });
  const settings = settingsFrom(values.quick ?? false, values["large-size"], values.rounds);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0]!;
  const notes: string[] = [];
  const cleanup = new Cleanup();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup.runAll().finally(() => process.exit(130));
    });
  }

  try {
    log("starting nerdctld on a managed engine (builds first)");
    const nerdctld: NerdctldUnderBench = await startNerdctld();
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
    const options = { clients: settings.clients, durationMs: settings.throughputSeconds * 1000, maxRequestsPerClient: 1_000_000 };
    for (const [label, path] of [["GET /_ping", "/_ping"], ["GET /version", "/v1.41/version"]] as const) {
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

    const work = await mkdtemp(join(tmpdir(), "nerdctld-bench-"));
    cleanup.add("transfer archive", () => rm(work, { recursive: true, force: true }));
    log(`writing the transfer image (${settings.largeImageBytes} bytes of random layer)`);
    const image = await writeLargeImage(join(work, "large.tar"), { sizeBytes: settings.largeImageBytes });
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

    notes.push(
      "nerdctld runs as e2e/support/daemon.ts starts it, with --debug (one log line per request to a file).",
      "nerdctld and plain nerdctl share one managed containerd; dockerd 20.10 uses its own containerd and overlay2 store.",
    );
    const report = renderReport({
      command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "),
      startedAt,
      loadAverage: { start: loadAtStart, end: loadavg()[0]! },
      elapsedSeconds: (performance.now() - started) / 1000,
      settings,
      machine: describeMachine(),
      versions,
      latency,
      throughput,
      rss,
      transfer,
      notes,
    });
    await writeFile(values.out!, report);
    process.stdout.write(report);
    log(`wrote ${values.out}`);
  } finally {
    await cleanup.runAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
