/**
 * The containerd tasks of a layout's engine, through ctr: stopped the way
 * dockerd stops its containers on shutdown, or force-deleted when the process
 * is exiting.
 */
import { spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import type { EngineLayout } from "./layout.ts";

export const DEFAULT_TASK_GRACE_SECONDS = 10;
export const CTR_TIMEOUT_MS = 30_000;

export interface StoppedTask {
  namespace: string;
  id: string;
  /** Exited within the grace period after SIGTERM (false: killed by delete --force). */
  exitedOnTerm: boolean;
}

export interface TaskListEntry {
  id: string;
  pid: number;
  /** RUNNING, STOPPED, CREATED, PAUSED, PAUSING, UNKNOWN */
  status: string;
}

/** Parses `ctr tasks ls` (TASK PID STATUS, header first). */
export function parseTaskList(stdout: string): TaskListEntry[] {
  return stdout
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 3 && fields[0] !== "")
    .map(([id, pid, status]) => ({ id: id!, pid: Number(pid), status: status! }));
}

function ctrRunner(layout: EngineLayout, env: Record<string, string>) {
  const clientEnv = { ...process.env, ...env };
  return (args: string[]) =>
    execa(layout.bin.ctr, ["--address", layout.containerd.socket, ...args], {
      env: clientEnv,
      reject: false,
      timeout: CTR_TIMEOUT_MS,
      stdin: "ignore",
    });
}

function ctrFailure(what: string, result: { stderr?: unknown; message?: string }): Error {
  return new Error(`${what}: ${String(result.stderr ?? "").trim() || result.message}`);
}

/**
 * Stops every task of every containerd namespace of the layout, as dockerd
 * stops its containers on shutdown: SIGTERM to all processes of each running
 * task (paused ones are resumed to receive it), up to graceSeconds for all of
 * them together, then `tasks delete --force` for each task (SIGKILL to what is
 * left), after which the shims exit and release the rootfs mounts. Containers
 * (metadata, snapshots) stay. Needs containerd to answer; throws when a task
 * cannot be deleted.
 */
export async function stopAllTasks(
  layout: EngineLayout,
  env: Record<string, string>,
  graceSeconds = DEFAULT_TASK_GRACE_SECONDS,
): Promise<StoppedTask[]> {
  const ctr = ctrRunner(layout, env);
  const listed = await ctr(["namespaces", "ls", "-q"]);
  if (listed.exitCode !== 0) throw ctrFailure("cannot list containerd namespaces", listed);
  const namespaces = String(listed.stdout).split("\n").map((line) => line.trim()).filter(Boolean);

  const listTasks = async (namespace: string) => {
    const result = await ctr(["-n", namespace, "tasks", "ls"]);
    if (result.exitCode !== 0) throw ctrFailure(`cannot list the tasks of namespace ${namespace}`, result);
    return parseTaskList(String(result.stdout));
  };
  const tasks = (
    await Promise.all(namespaces.map(async (namespace) => (await listTasks(namespace)).map((task) => ({ namespace, ...task }))))
  ).flat();
  if (tasks.length === 0) return [];

  const live = tasks.filter((task) => task.status !== "STOPPED");
  await Promise.all(
    live.map(async ({ namespace, id, status }) => {
      // Fails for a task that exits meanwhile; delete --force below settles every case.
      await ctr(["-n", namespace, "tasks", "kill", "--all", "--signal", "SIGTERM", id]);
      if (status === "PAUSED" || status === "PAUSING") await ctr(["-n", namespace, "tasks", "resume", id]);
    }),
  );

  // Poll until no task is running any more, or the grace period is over.
  const exited = new Set(tasks.filter((task) => task.status === "STOPPED").map((task) => `${task.namespace}/${task.id}`));
  const deadline = Date.now() + graceSeconds * 1000;
  const liveNamespaces = [...new Set(live.map((task) => task.namespace))];
  for (;;) {
    const running = new Set<string>();
    for (const [index, entries] of (await Promise.all(liveNamespaces.map((ns) => listTasks(ns).catch(() => [])))).entries()) {
      for (const entry of entries) {
        const key = `${liveNamespaces[index]}/${entry.id}`;
        if (entry.status === "STOPPED") exited.add(key);
        else running.add(key);
      }
    }
    const waiting = live.filter((task) => running.has(`${task.namespace}/${task.id}`));
    if (waiting.length === 0 || Date.now() >= deadline) break;
    await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
  }

  const failures: string[] = [];
  await Promise.all(
    tasks.map(async ({ namespace, id }) => {
      const result = await ctr(["-n", namespace, "tasks", "delete", "--force", id]);
      if (result.exitCode !== 0 && !/not found/i.test(String(result.stderr))) {
        failures.push(`${namespace}/${id}: ${String(result.stderr).trim() || result.message}`);
      }
    }),
  );
  if (failures.length > 0) throw new Error(`cannot delete tasks:\n${failures.join("\n")}`);
  return tasks.map(({ namespace, id }) => ({ namespace, id, exitedOnTerm: exited.has(`${namespace}/${id}`) }));
}

/**
 * The process-level safety net: what stopAllTasks does, synchronously (an
 * 'exit' hook cannot wait) and without a grace period. Best effort.
 */
export function deleteAllTasksSync(layout: EngineLayout, env: Record<string, string>): void {
  const clientEnv = { ...process.env, ...env };
  const ctr = (args: string[]) =>
    spawnSync(layout.bin.ctr, ["--address", layout.containerd.socket, ...args], {
      env: clientEnv,
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  const listed = ctr(["namespaces", "ls", "-q"]);
  if (listed.status !== 0) return;
  for (const namespace of listed.stdout.split("\n").map((line) => line.trim()).filter(Boolean)) {
    const tasks = ctr(["-n", namespace, "tasks", "ls"]);
    if (tasks.status !== 0) continue;
    const ids = parseTaskList(tasks.stdout).map((task) => task.id);
    if (ids.length > 0) ctr(["-n", namespace, "tasks", "delete", "--force", ...ids]);
  }
}
