/**
 * What a process holds, read from /proc where it runs (this host, or the
 * engine container: the testcontainers provider's daemons run there): its
 * open file descriptors, its resident memory, and the processes below it.
 */
import { execa } from "execa";
import { dockerCliEnv } from "./dockerd.ts";
import type { EngineAccess } from "./engine-client.ts";

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** The kernel's short name (/proc/<pid>/comm). */
  comm: string;
  cmdline: string;
}

export interface ProcessSnapshot {
  /** Running (not gone, not a zombie). */
  alive: boolean;
  fds: number;
  /** VmRSS, bytes. */
  rss: number;
  /** Every process below it, at any depth. */
  descendants: ProcessEntry[];
  /** Every process there, for what left the tree (an orphan is reparented). */
  all: ProcessEntry[];
}

/** Runs a Node script where the engine runs (this host, or its container): its stdout. */
async function runNodeByEngine(access: EngineAccess, script: string, args: string[] = []): Promise<string> {
  const result =
    access.kind === "host"
      ? await execa(process.execPath, ["-e", script, ...args], { stdin: "ignore" })
      : await execa(access.docker, ["exec", access.containerId, "/usr/bin/node", "-e", script, ...args], { env: dockerCliEnv(access.dockerHost), stdin: "ignore" });
  return String(result.stdout);
}

/** Runs with `node -e`: no imports of the project, only Node's fs. */
const SNAPSHOT = String.raw`
const fs = require("fs");
const pid = Number(process.argv[1]);
const read = (path) => { try { return fs.readFileSync(path, "utf8"); } catch { return ""; } };
const all = [];
for (const name of fs.readdirSync("/proc")) {
  if (!/^\d+$/.test(name)) continue;
  const stat = read("/proc/" + name + "/stat");
  if (!stat) continue;
  const close = stat.lastIndexOf(")");
  const rest = stat.slice(close + 2).split(" ");
  if (rest[0] === "Z") continue;
  all.push({ pid: Number(name), ppid: Number(rest[1]), comm: stat.slice(stat.indexOf("(") + 1, close), cmdline: read("/proc/" + name + "/cmdline").split("\0").join(" ").trim() });
}
const below = new Map();
for (const entry of all) below.set(entry.ppid, [...(below.get(entry.ppid) || []), entry]);
const descendants = [];
const walk = (parent) => { for (const child of below.get(parent) || []) { descendants.push(child); walk(child.pid); } };
walk(pid);
const status = read("/proc/" + pid + "/status");
let fds = 0;
try { fds = fs.readdirSync("/proc/" + pid + "/fd").length; } catch {}
const rss = Number((/VmRSS:\s+(\d+)/.exec(status) || [0, 0])[1]) * 1024;
process.stdout.write(JSON.stringify({ alive: status !== "" && !/State:\s+Z/.test(status), fds, rss, descendants, all }));
`;

export async function snapshotProcess(access: EngineAccess, pid: number): Promise<ProcessSnapshot> {
  return JSON.parse(await runNodeByEngine(access, SNAPSHOT, [String(pid)])) as ProcessSnapshot;
}

/** The engine programs nerdctld starts. */
export const ENGINE_PROGRAMS = new Set(["nerdctl", "ctr", "buildctl"]);

/** SIGTERM, then the milliseconds until the process is gone (null: still there after timeoutMs). */
export async function terminateAndTime(access: EngineAccess, pid: number, timeoutMs: number): Promise<number | null> {
  const script = String.raw`
const fs = require("fs");
const pid = Number(process.argv[1]);
const timeout = Number(process.argv[2]);
const gone = () => { try { return /State:\s+Z/.test(fs.readFileSync("/proc/" + pid + "/status", "utf8")); } catch { return true; } };
const start = performance.now();
process.kill(pid, "SIGTERM");
const poll = () => {
  const elapsed = performance.now() - start;
  if (gone()) process.stdout.write(String(Math.round(elapsed)));
  else if (elapsed > timeout) process.stdout.write("null");
  else setTimeout(poll, 10);
};
poll();
`;
  return JSON.parse(await runNodeByEngine(access, script, [String(pid), String(timeoutMs)])) as number | null;
}
