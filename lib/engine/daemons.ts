/**
 * containerd and buildkitd as processes of an EngineLayout: their directories
 * and configs, how each is launched, probed, told from a recycled pid and
 * terminated.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, fstatSync, openSync, writeSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import {
  buildkitdArgs,
  containerdArgs,
  renderBuildkitdConfig,
  renderContainerdConfig,
  renderNerdctlToml,
} from "./config.ts";
import type { EngineLayout } from "./layout.ts";
import { isProcessAlive, POLL_INTERVAL_MS, processArgv, readPidFile, signal, waitForExit } from "./processes.ts";

const STOP_GRACE_MS = 10_000;
export const PROBE_TIMEOUT_MS = 5_000;
const LOG_TAIL_LINES = 20;

export type DaemonName = "containerd" | "buildkitd";

export interface DaemonSpec {
  name: DaemonName;
  program: string;
  args: string[];
  pidFile: string;
  logFile: string;
  /** Client-visible address, for status. */
  address: string;
  /** Removed after the daemon stops: a stale socket would make the next start look half alive. */
  sockets: string[];
  /** An argv element only this layout's daemon has, to tell it from a recycled pid. */
  identityArg: string;
  /** Answers whether the daemon serves requests. */
  probe(): Promise<boolean>;
}

export function daemonSpecs(layout: EngineLayout, env: Record<string, string>): Record<DaemonName, DaemonSpec> {
  const clientEnv = { ...process.env, ...env };
  return {
    containerd: {
      name: "containerd",
      program: layout.bin.containerd,
      args: containerdArgs(layout),
      pidFile: layout.containerd.pidFile,
      logFile: layout.containerd.logFile,
      address: layout.containerd.socket,
      sockets: [layout.containerd.socket, layout.containerd.ttrpcSocket],
      identityArg: layout.containerd.configPath,
      probe: async () => {
        const result = await execa(layout.bin.ctr, ["--address", layout.containerd.socket, "version"], {
          env: clientEnv,
          reject: false,
          timeout: PROBE_TIMEOUT_MS,
          stdin: "ignore",
        });
        return result.exitCode === 0;
      },
    },
    buildkitd: {
      name: "buildkitd",
      program: layout.bin.buildkitd,
      args: buildkitdArgs(layout),
      pidFile: layout.buildkitd.pidFile,
      logFile: layout.buildkitd.logFile,
      address: layout.buildkitd.address,
      sockets: [layout.buildkitd.socket, layout.buildkitd.otelSocket],
      identityArg: layout.buildkitd.configPath,
      probe: async () => {
        const result = await execa(layout.bin.buildctl, ["--addr", layout.buildkitd.address, "debug", "workers"], {
          env: clientEnv,
          reject: false,
          timeout: PROBE_TIMEOUT_MS,
          stdin: "ignore",
        });
        // A header line plus at least one worker: buildkitd without a worker cannot build.
        const lines = String(result.stdout ?? "").split("\n").filter((line) => line.trim() !== "");
        return result.exitCode === 0 && lines.length >= 2;
      },
    },
  };
}

export function isLayoutDaemon(pid: number, spec: DaemonSpec): boolean {
  return isProcessAlive(pid) && processArgv(pid).includes(spec.identityArg);
}

async function removeDaemonFiles(spec: DaemonSpec): Promise<void> {
  await Promise.all([spec.pidFile, ...spec.sockets].map((path) => rm(path, { force: true })));
}

/**
 * SIGTERM, up to graceMs to exit, then SIGKILL; then the pid file and sockets go.
 * `isOurs` guards against signalling a recycled pid: a child we spawned is ours
 * until it exits; a pid read from a file is ours if its argv is the daemon's.
 */
export async function terminateDaemon(
  spec: DaemonSpec,
  pid: number,
  isOurs: () => boolean,
  graceMs = STOP_GRACE_MS,
): Promise<void> {
  if (isOurs()) {
    signal(pid, "SIGTERM");
    if (!(await waitForExit(pid, graceMs))) {
      signal(pid, "SIGKILL");
      if (!(await waitForExit(pid, 5_000))) {
        throw new Error(`${spec.name} (pid ${pid}) survived SIGKILL`);
      }
    }
  }
  await removeDaemonFiles(spec);
}

async function readLogTail(path: string, fromOffset: number): Promise<string> {
  let text: string;
  try {
    text = (await readFile(path)).subarray(fromOffset).toString("utf8");
  } catch {
    return "(no log)";
  }
  const lines = text.split("\n").filter((line) => line !== "");
  return lines.slice(-LOG_TAIL_LINES).join("\n") || "(log is empty)";
}

export interface LaunchedDaemon {
  spec: DaemonSpec;
  pid: number;
  /** True until the child exits (Node reaps it, detached or not, while this process lives). */
  isRunning(): boolean;
  /** Resolves with how the child ended (`exited with code 1`, `was killed by SIGKILL`). */
  exited: Promise<string>;
}

/** Starts one daemon with its output appended to its log, and waits until it answers. */
export async function launchDaemon(
  spec: DaemonSpec,
  daemonEnv: NodeJS.ProcessEnv,
  options: { detached: boolean; timeoutMs: number },
): Promise<LaunchedDaemon> {
  const logFd = openSync(spec.logFile, "a");
  const logOffset = fstatSync(logFd).size;
  writeSync(logFd, `--- nerdctld: ${new Date().toISOString()} starting ${[spec.program, ...spec.args].join(" ")}\n`);
  let child: ChildProcess;
  try {
    child = spawn(spec.program, spec.args, {
      stdio: ["ignore", logFd, logFd],
      env: daemonEnv,
      detached: options.detached,
    });
  } finally {
    closeSync(logFd); // the child has its own copy
  }

  let exit: string | null = null;
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, signalName) => {
      exit = signalName ? `was killed by ${signalName}` : `exited with code ${code}`;
      resolve(exit);
    }),
  );
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null));
    child.once("error", (error) => resolve(error));
  });
  if (spawned !== null || child.pid === undefined) {
    throw new Error(`cannot start ${spec.name} (${spec.program}): ${spawned?.message ?? "no pid"}`);
  }
  const pid = child.pid;
  if (options.detached) child.unref();
  await writeFile(spec.pidFile, `${pid}\n`);

  const isRunning = () => exit === null;
  const failure = await waitUntilReady(spec, () => exit, options.timeoutMs);
  if (failure !== null) {
    await terminateDaemon(spec, pid, isRunning, 3_000).catch(() => {});
    const tail = await readLogTail(spec.logFile, logOffset);
    throw new Error(`${spec.name} ${failure}; last lines of ${spec.logFile}:\n${tail}`);
  }
  return { spec, pid, isRunning, exited };
}

/** null once the daemon answers, else why it did not. */
async function waitUntilReady(
  spec: DaemonSpec,
  exitReason: () => string | null,
  timeoutMs: number,
): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = exitReason();
    if (exited !== null) return exited;
    if (await spec.probe()) return null;
    if (Date.now() >= deadline) return `did not answer within ${Math.round(timeoutMs / 1000)} s`;
    await sleep(POLL_INTERVAL_MS);
  }
}

export type DaemonState =
  | { kind: "stopped" }
  | { kind: "running"; pid: number }
  | { kind: "unresponsive"; pid: number };

/** What the pid file says, after dropping a stale one (dead or recycled pid). */
export async function inspectDaemon(spec: DaemonSpec): Promise<DaemonState> {
  const pid = await readPidFile(spec.pidFile);
  if (pid === null || !isLayoutDaemon(pid, spec)) {
    await removeDaemonFiles(spec);
    return { kind: "stopped" };
  }
  return (await spec.probe()) ? { kind: "running", pid } : { kind: "unresponsive", pid };
}

export async function prepareDirectories(layout: EngineLayout): Promise<void> {
  const dirs = [
    layout.stateDir,
    layout.containerd.state,
    layout.containerd.root,
    layout.buildkitd.root,
    layout.nerdctl.dataRoot,
    layout.nerdctl.cniNetconfPath,
    ...(layout.containerd.shimSocketDir === null ? [] : [layout.containerd.shimSocketDir]),
  ];
  for (const dir of dirs) await mkdir(dir, { recursive: true, mode: 0o711 });
  await mkdir(dirname(layout.buildkitd.socket), { recursive: true, mode: 0o711 });
}

export async function writeConfigs(layout: EngineLayout): Promise<void> {
  await Promise.all([
    writeFile(layout.containerd.configPath, renderContainerdConfig(layout)),
    writeFile(layout.buildkitd.configPath, renderBuildkitdConfig(layout)),
    writeFile(layout.nerdctl.tomlPath, renderNerdctlToml(layout)),
  ]);
}
