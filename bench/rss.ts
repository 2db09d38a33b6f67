import { readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface Memory {
  /** Resident set now, in KiB (VmRSS). */
  rssKiB: number;
  /** Peak resident set since start or since the last resetPeak, in KiB (VmHWM). */
  hwmKiB: number;
}

/** VmRSS and VmHWM from /proc/<pid>/status; null once the process is gone or a zombie. */
export function readMemory(pid: number): Memory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  const memory = { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
  // A zombie (exited, not yet reaped) has no Vm* lines: no memory to report.
  return Number.isNaN(memory.rssKiB) || Number.isNaN(memory.hwmKiB) ? null : memory;
}

/**
 * Each process's VmRSS (KiB) after 3 s without requests: the median of ten
 * samples 200 ms apart, taken in turn; null for no process, or one whose
 * memory could not be read.
 */
export async function quietRssKiB(pids: readonly (number | null)[]): Promise<(number | null)[]> {
  await sleep(3000);
  const samples = pids.map((): number[] => []);
  for (let i = 0; i < 10; i++) {
    pids.forEach((pid, index) => {
      const memory = pid === null ? null : readMemory(pid);
      if (memory) samples[index]!.push(memory.rssKiB);
    });
    await sleep(200);
  }
  return samples.map((values) => {
    if (values.length === 0) return null;
    const sorted = values.sort((a, b) => a - b);
    const middle = sorted.length / 2;
    return sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  });
}

/**
 * Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux 4.0+), so a
 * phase's peak is its own and not the start-up's. Only for processes the
 * benchmark started; false where the kernel refuses.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The pid of the process listening on a unix socket path: the socket's inode
 * from /proc/net/unix, then the process holding an fd on it. This finds the
 * daemon itself (not a wrapper or a child) whoever started it, and needs no
 * pattern match on command lines.
 */
export function findSocketListenerPid(socketPath: string): number | null {
  const wanted = canonical(socketPath);
  const inodes = new Set<string>();
  // Lines: Num RefCount Protocol Flags Type St Inode [Path]; flag 0x10000 marks a listening socket.
  for (const line of readFileSync("/proc/net/unix", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [, , , flags, , , inode, path] = fields;
    if (!path || !inode || !flags) continue;
    if ((Number.parseInt(flags, 16) & 0x10000) === 0) continue;
    if (path === socketPath || canonical(path) === wanted) inodes.add(`socket:[${inode}]`);
  }
  if (inodes.size === 0) return null;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
      } catch {
        // fd closed while we looked
      }
    }
  }
  return null;
}

/** Peak of a process's memory over a phase: sampled VmRSS, and VmHWM where it could be reset first. */
export interface PeakReport {
  baselineKiB: number;
  peakKiB: number;
  /** Whether peakKiB includes VmHWM (exact) or only samples (may miss short spikes). */
  exact: boolean;
}

/**
 * How a watcher reads peaks: "reset" (a daemon the benchmark owns) resets VmHWM
 * at the start and reads it at the end, which catches spikes between samples;
 * "since-start" (a process started for the phase) reads VmHWM as is; "sample"
 * (a daemon someone else owns) only samples VmRSS.
 */
export type PeakMode = "reset" | "since-start" | "sample";

/** Watches one process while a phase runs. */
export class PeakWatcher {
  private readonly timer: NodeJS.Timeout;
  private readonly baseline: number;
  private peak: number;
  private readonly useHwm: boolean;

  constructor(
    private readonly pid: number,
    mode: PeakMode,
    intervalMs = 50,
  ) {
    this.useHwm = mode === "since-start" || (mode === "reset" && resetPeak(pid));
    this.baseline = readMemory(pid)?.rssKiB ?? Number.NaN;
    this.peak = Number.isNaN(this.baseline) ? 0 : this.baseline;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const memory = readMemory(this.pid);
    if (memory) this.peak = Math.max(this.peak, memory.rssKiB, this.useHwm ? memory.hwmKiB : 0);
  }

  /** Peak so far; also after the process exited (the last sample stands). */
  stop(): PeakReport {
    clearInterval(this.timer);
    this.sample();
    return { baselineKiB: this.baseline, peakKiB: this.peak, exact: this.useHwm };
  }
}
