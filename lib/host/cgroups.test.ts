import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sampleCgroup } from "./cgroups.ts";
import { toStatsDocument } from "../docker/stats.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(os.tmpdir(), "cgroups-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function files(entries: Record<string, string>) {
  for (const [path, content] of Object.entries(entries)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

const task = { id: "a".repeat(64), name: "web", cgroupsPath: "/default/abc", pid: process.pid, running: true };

describe("sampleCgroup", () => {
  it("reads cgroup v1 counters", async () => {
    await files({
      "cpuacct/default/abc/cpuacct.usage": "5000000000\n",
      "cpuacct/default/abc/cpuacct.usage_percpu": "3000000000 2000000000 \n",
      "cpuacct/default/abc/cpuacct.stat": "user 300\nsystem 100\n",
      "memory/default/abc/memory.usage_in_bytes": "1048576\n",
      "memory/default/abc/memory.limit_in_bytes": "9223372036854771712\n",
      "memory/default/abc/memory.stat": "cache 4096\ninactive_file 4096\n",
      "blkio/default/abc/blkio.throttle.io_service_bytes_recursive": "8:0 Read 512\n8:0 Write 1024\nTotal 1536\n",
      "pids/default/abc/pids.current": "3\n",
      "pids/default/abc/pids.max": "max\n",
    });
    const sample = await sampleCgroup("/default/abc", process.pid, root);
    expect(sample.cpu).toEqual({ total: 5e9, user: 3e9, kernel: 1e9, perCpu: [3e9, 2e9] });
    expect(sample.memory).toMatchObject({ usage: 1048576, limit: os.totalmem(), stats: { cache: 4096, inactive_file: 4096 } });
    expect(sample.blkio).toEqual([
      { major: 8, minor: 0, op: "Read", value: 512 },
      { major: 8, minor: 0, op: "Write", value: 1024 },
    ]);
    expect(sample.pids).toEqual({ current: 3, limit: undefined });
    expect(sample.systemCpu).toBeGreaterThan(0);
  });

  it("reads cgroup v2 counters", async () => {
    await files({
      "cgroup.controllers": "cpu memory io pids\n",
      "default/abc/cpu.stat": "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\n",
      "default/abc/memory.current": "2048\n",
      "default/abc/memory.max": "4096\n",
      "default/abc/memory.stat": "anon 1024\n",
      "default/abc/io.stat": "8:0 rbytes=10 wbytes=20 rios=1 wios=2\n",
      "default/abc/pids.current": "1\n",
      "default/abc/pids.max": "100\n",
    });
    const sample = await sampleCgroup("/default/abc", process.pid, root);
    expect(sample.cpu).toEqual({ total: 2e6, user: 1.5e6, kernel: 5e5, perCpu: [] });
    expect(sample.memory).toMatchObject({ usage: 2048, limit: 4096 });
    expect(sample.blkio).toEqual([
      { major: 8, minor: 0, op: "read", value: 10 },
      { major: 8, minor: 0, op: "write", value: 20 },
    ]);
    expect(sample.pids).toEqual({ current: 1, limit: 100 });
  });
});

describe("toStatsDocument", () => {
  it("puts the previous sample's CPU in precpu_stats, as clients compute CPU % from the two", async () => {
    await files({ "cpuacct/default/abc/cpuacct.usage": "1\n" });
    const previous = await sampleCgroup("/default/abc", process.pid, root);
    const current = { ...previous, read: previous.read + 1000, cpu: { ...previous.cpu, total: 1e9 }, systemCpu: previous.systemCpu + 2e9 };
    const document = toStatsDocument(task, current, previous);
    expect(document).toMatchObject({ name: "/web", id: task.id, cpu_stats: { cpu_usage: { total_usage: 1e9 } }, precpu_stats: { cpu_usage: { total_usage: 1 } } });
    expect(document.read).not.toBe("0001-01-01T00:00:00Z");
  });

  it("gives a stopped container empty counters", () => {
    const document = toStatsDocument({ ...task, running: false, pid: 0 });
    expect(document).toMatchObject({ read: "0001-01-01T00:00:00Z", memory_stats: {}, pids_stats: {} });
  });
});
