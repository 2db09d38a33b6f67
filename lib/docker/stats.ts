import type { CgroupSample } from "../host/cgroups.ts";
import type { ContainerTask } from "../nerdctl/stats.ts";
import { ZERO_TIME } from "./time.ts";

/** One interface's counters, as Docker reports them. */
export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** Bytes moved by one device, one direction (Docker's blkio entry). */
export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

/** Docker's stats document (GET /containers/{id}/stats), from two samples of the container's cgroup. */
export interface StatsDocument {
  name: string;
  id: string;
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioEntry[] | null;
    io_serviced_recursive: null;
    io_queue_recursive: null;
    io_service_time_recursive: null;
    io_wait_time_recursive: null;
    io_merged_recursive: null;
    io_time_recursive: null;
    sectors_recursive: null;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; limit?: number };
  networks?: Record<string, NetworkStats>;
}

function cpuStats(sample: CgroupSample | undefined): CpuStats {
  const throttling = { periods: 0, throttled_periods: 0, throttled_time: 0 };
  if (!sample) return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: throttling };
  return {
    cpu_usage: {
      total_usage: sample.cpu.total,
      ...(sample.cpu.perCpu.length ? { percpu_usage: sample.cpu.perCpu } : {}),
      usage_in_kernelmode: sample.cpu.kernel,
      usage_in_usermode: sample.cpu.user,
    },
    system_cpu_usage: sample.systemCpu,
    online_cpus: sample.onlineCpus,
    throttling_data: throttling,
  };
}

const iso = (ms: number | undefined) => (ms === undefined ? ZERO_TIME : new Date(ms).toISOString());

/**
 * One stats document: `current` is now, `previous` the sample before (its CPU
 * counters are the precpu_stats clients compute a percentage from). A stopped
 * container has no samples: every counter is empty, as dockerd sends.
 */
export function toStatsDocument(task: ContainerTask, current?: CgroupSample, previous?: CgroupSample): StatsDocument {
  return {
    name: `/${task.name}`,
    id: task.id,
    read: iso(current?.read),
    preread: iso(previous?.read),
    pids_stats: current ? { current: current.pids.current, ...(current.pids.limit !== undefined ? { limit: current.pids.limit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: current ? current.blkio : null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(current),
    precpu_stats: cpuStats(previous),
    memory_stats: current
      ? {
          usage: current.memory.usage,
          ...(current.memory.maxUsage !== undefined ? { max_usage: current.memory.maxUsage } : {}),
          stats: current.memory.stats,
          limit: current.memory.limit,
        }
      : {},
    ...(current ? { networks: current.networks } : {}),
  };
}
