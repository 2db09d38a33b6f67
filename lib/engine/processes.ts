/**
 * Processes by pid, as pid files name them: liveness (a zombie counts as
 * gone), argv, pid files and signals to a process that may be gone already.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** How often a wait on another process (a daemon's readiness, a lock holder) polls. */
export const POLL_INTERVAL_MS = 100;

/** Alive and not a zombie: kill(pid, 0) succeeds on zombies, which a non-reaping PID 1 keeps around. */
export function isProcessAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // The state follows the parenthesised command name, which may itself contain ") ".
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

export function processArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

function parsePid(text: string): number | null {
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

export async function readPidFile(path: string): Promise<number | null> {
  try {
    return parsePid(await readFile(path, "utf8"));
  } catch {
    return null;
  }
}

export function readPidFileSync(path: string): number | null {
  try {
    return parsePid(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
