import { readFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";

/**
 * A running container's resource counters, read from the host's cgroup files
 * and /proc (what containerd's metrics report): nerdctl only prints rounded
 * percentages, and Docker's stats document carries the raw counters clients
 * compute their own rates from.
 */
export interface CgroupSample {
  /** When it was read (ms since the epoch). */
  read: number;
  cpu: { total: number; user: number; kernel: number; perCpu: number[] };
  /** Whole-host CPU time, ns (the denominator of Docker's CPU %). */
  systemCpu: number;
  onlineCpus: number;
  memory: { usage: number; maxUsage?: number; limit: number; stats: Record<string, number> };
  blkio: { major: number; minor: number; op: string; value: number }[];
  pids: { current: number; limit?: number };
  networks: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
}

export const CGROUP_ROOT = "/sys/fs/cgroup";
/** Linux reports /proc/stat and cpuacct.stat in USER_HZ ticks, 100 a second on every architecture Docker runs on. */
const NS_PER_TICK = 1e9 / 100;

const text = (path: string) => readFile(path, "utf8").catch(() => undefined);
const number = async (path: string) => {
  const value = await text(path);
  return value === undefined || value.trim() === "max" ? undefined : Number(value.trim());
};
function keyValues(content: string | undefined): Record<string, number> {
  return Object.fromEntries(
    (content ?? "")
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter((parts) => parts.length === 2 && /^\d+$/.test(parts[1]!))
      .map(([key, value]) => [key!, Number(value)]),
  );
}

async function isCgroupV2(root: string): Promise<boolean> {
  return (await text(join(root, "cgroup.controllers"))) !== undefined;
}

/** Host CPU time from the first line of /proc/stat, in ns. */
async function systemCpu(): Promise<number> {
  const line = (await text("/proc/stat"))?.split("\n")[0] ?? "";
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return ticks.reduce((sum, value) => sum + value, 0) * NS_PER_TICK;
}

/** The container's interfaces, from its network namespace's /proc/<pid>/net/dev. */
async function networks(pid: number): Promise<CgroupSample["networks"]> {
  const lines = ((await text(`/proc/${pid}/net/dev`)) ?? "").split("\n").slice(2);
  const result: CgroupSample["networks"] = {};
  for (const line of lines) {
    const match = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!match || match[1] === "lo") continue;
    const f = match[2]!.trim().split(/\s+/).map(Number);
    result[match[1]!] = {
      rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!,
      tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]!,
    };
  }
  return result;
}

async function sampleV1(root: string, path: string) {
  const dir = (controller: string, file: string) => join(root, controller, path, file);
  const [total, perCpu, cpuStat, usage, maxUsage, limit, memoryStat, blkio, pids, pidsMax] = await Promise.all([
    number(dir("cpuacct", "cpuacct.usage")),
    text(dir("cpuacct", "cpuacct.usage_percpu")),
    text(dir("cpuacct", "cpuacct.stat")),
    number(dir("memory", "memory.usage_in_bytes")),
    number(dir("memory", "memory.max_usage_in_bytes")),
    number(dir("memory", "memory.limit_in_bytes")),
    text(dir("memory", "memory.stat")),
    text(dir("blkio", "blkio.throttle.io_service_bytes_recursive")).then(async (value) => value ?? text(dir("blkio", "blkio.throttle.io_service_bytes"))),
    number(dir("pids", "pids.current")),
    number(dir("pids", "pids.max")),
  ]);
  const ticks = keyValues(cpuStat);
  return {
    cpu: {
      total: total ?? 0,
      user: (ticks.user ?? 0) * NS_PER_TICK,
      kernel: (ticks.system ?? 0) * NS_PER_TICK,
      perCpu: (perCpu ?? "").trim().split(/\s+/).filter(Boolean).map(Number),
    },
    memory: { usage: usage ?? 0, maxUsage, limit: limit ?? Infinity, stats: keyValues(memoryStat) },
    blkio: (blkio ?? "")
      .split("\n")
      .map((line) => /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim()))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => ({ major: Number(match[1]), minor: Number(match[2]), op: match[3]!, value: Number(match[4]) })),
    pids: { current: pids ?? 0, limit: pidsMax },
  };
}

async function sampleV2(root: string, path: string) {
  const file = (name: string) => join(root, path, name);
  const [cpuStat, usage, limit, memoryStat, io, pids, pidsMax] = await Promise.all([
    text(file("cpu.stat")),
    number(file("memory.current")),
    number(file("memory.max")),
    text(file("memory.stat")),
    text(file("io.stat")),
    number(file("pids.current")),
    number(file("pids.max")),
  ]);
  const cpu = keyValues(cpuStat);
  const blkio = (io ?? "").split("\n").flatMap((line) => {
    const match = /^(\d+):(\d+) (.*)$/.exec(line.trim());
    if (!match) return [];
    const fields = Object.fromEntries(match[3]!.split(" ").map((pair) => pair.split("=") as [string, string]));
    return [
      { major: Number(match[1]), minor: Number(match[2]), op: "read", value: Number(fields.rbytes ?? 0) },
      { major: Number(match[1]), minor: Number(match[2]), op: "write", value: Number(fields.wbytes ?? 0) },
    ];
  });
  return {
    cpu: { total: (cpu.usage_usec ?? 0) * 1000, user: (cpu.user_usec ?? 0) * 1000, kernel: (cpu.system_usec ?? 0) * 1000, perCpu: [] },
    memory: { usage: usage ?? 0, maxUsage: undefined, limit: limit ?? Infinity, stats: keyValues(memoryStat) },
    blkio,
    pids: { current: pids ?? 0, limit: pidsMax },
  };
}

/** Reads one sample for the container whose cgroup is `cgroupsPath` and whose init process is `pid`. */
export async function sampleCgroup(cgroupsPath: string, pid: number, root = CGROUP_ROOT): Promise<CgroupSample> {
  const read = Date.now();
  const [resources, system, nets] = await Promise.all([
    (await isCgroupV2(root)) ? sampleV2(root, cgroupsPath) : sampleV1(root, cgroupsPath),
    systemCpu(),
    networks(pid),
  ]);
  // An unlimited cgroup reports a huge limit; dockerd reports the host's memory instead, and so do we.
  const limit = Math.min(resources.memory.limit, os.totalmem());
  return { read, ...resources, memory: { ...resources.memory, limit }, systemCpu: system, onlineCpus: os.cpus().length, networks: nets };
}
