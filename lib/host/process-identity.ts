import { readFileSync } from "node:fs";

/*
 * A process named so that a later one with the same pid is not taken for it:
 * its pid and its start time since boot (field 22 of /proc/<pid>/stat).
 */

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** "pid:starttime" of this process. */
export function ownIdentity(): string {
  return `${process.pid}:${startTime(process.pid) ?? "0"}`;
}

/** Whether the process an identity names still runs (in this pid namespace). */
export function identityAlive(identity: string): boolean {
  const [pid, started] = identity.split(":");
  const number = Number(pid);
  return Number.isSafeInteger(number) && number > 0 && started !== undefined && startTime(number) === started;
}
