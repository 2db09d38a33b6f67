/**
 * The managed engine: containerd and buildkitd started by nerdctld itself,
 * like dockerd's managed containerd, on the paths of an EngineLayout.
 *
 * Ownership, which decides what stop() does:
 * - `startManagedEngine()` starts both daemons and owns them: `stop()` stops them.
 * - With `{ reuse: true }`, a daemon of the same layout that is already running
 *   and answering is attached to instead of started. `stop()` stops exactly the
 *   daemons this call started, so an engine that was fully attached to is left
 *   running (it belongs to whoever started it); `owned` says which case it is.
 *   `stopEngine(layout)` stops an engine whoever started it (the CLI's `stop`).
 * - Without `reuse`, finding a live daemon of the layout is an error: two
 *   containerds cannot share a root.
 *
 * Dying with the parent: Node cannot set PR_SET_PDEATHSIG, so a foreground
 * engine only dies with its parent where the parent gets to run code or shares
 * a signal: the daemons stay in the parent's process group (Ctrl-C reaches them
 * too) and an 'exit' hook sends them SIGTERM when the parent exits without
 * calling stop(). A parent killed by a signal it does not handle (SIGKILL, or
 * SIGTERM without a handler) leaves them running; callers that handle signals
 * should call stop() from their handler. A detached engine (the CLI) is in its
 * own session and outlives its starter by design.
 *
 * Containers, like dockerd without live-restore: before stopping a containerd
 * it owns, stop() stops every running task in every namespace (SIGTERM to all
 * their processes, a grace period, then `tasks delete --force`, which SIGKILLs
 * what is left), so the shims exit and the rootfs mounts under the state dir
 * are released. The containers themselves (metadata) stay and show as exited
 * after the next start. `{ containers: "leave" }` skips this: the shims then
 * outlive containerd, as with any containerd restart.
 * The 'exit' hook of a foreground engine does the same without the grace period
 * (synchronously: delete --force on every task) before it sends SIGTERM to the
 * daemons; it does not remove any data.
 *
 * `{ removeData: true }` (tests, temp engines): once the daemons have exited,
 * everything still mounted at or below the state and data dirs is unmounted
 * (deepest first, lazily as a last resort) and both dirs are removed.
 */
import { mkdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { removeEngineData } from "./data-removal.ts";
import {
  daemonSpecs,
  inspectDaemon,
  isLayoutDaemon,
  launchDaemon,
  prepareDirectories,
  terminateDaemon,
  writeConfigs,
  type DaemonName,
  type DaemonSpec,
  type LaunchedDaemon,
} from "./daemons.ts";
import { ensureDefaultNetwork } from "./default-network.ts";
import {
  engineEnvironment,
  engineLayout,
  socketPathProblems,
  type EngineLayout,
  type EngineLayoutOptions,
} from "./layout.ts";
import { readPidFile, readPidFileSync, signal } from "./processes.ts";
import { acquireStartLock } from "./start-lock.ts";
import { DaemonSupervisor, SUPERVISOR_DEFAULTS } from "./supervisor.ts";
import { DEFAULT_TASK_GRACE_SECONDS, deleteAllTasksSync, stopAllTasks, type StoppedTask } from "./tasks.ts";

export interface ManagedEngineOptions extends EngineLayoutOptions {
  /** How long each daemon may take to answer, in ms. Default 60 s. */
  timeoutMs?: number;
  /** Start the daemons in their own session and let this process exit without them (the CLI). */
  detached?: boolean;
  /** Attach to daemons of this layout that already run and answer instead of failing. */
  reuse?: boolean;
  /** Start a daemon this call started again when it exits before stop() (not with detached); each step is logged. */
  supervise?: { log(line: string): void };
}

export interface ManagedEngine {
  layout: EngineLayout;
  /** CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, NERDCTL_TOML, BUILDKIT_HOST, PATH (binDir first), … */
  env: Record<string, string>;
  /** True when this call started at least one daemon (which stop() then stops). */
  owned: boolean;
  /** The daemons' pids as they are now (a supervised daemon gets a new one when restarted). */
  pids: { containerd: number; buildkitd: number };
  /**
   * Stops the daemons this call started (SIGTERM, 10 s, SIGKILL) and removes
   * their pid files and sockets; before containerd, its running tasks (see
   * EngineStopOptions). Repeated calls return the first call's promise.
   */
  stop(options?: EngineStopOptions): Promise<void>;
}

export interface EngineStopOptions {
  /**
   * "stop" (default): stop every running task of every namespace before
   * containerd goes (only when this call owns containerd); containers stay.
   * "leave": leave them running (their shims outlive containerd).
   */
  containers?: "stop" | "leave";
  /** How long tasks get between SIGTERM and SIGKILL. Default 10 s. */
  graceSeconds?: number;
  /**
   * After the daemons exit, unmount whatever is left at or below the state and
   * data dirs and remove both. Refused (before anything is stopped) while a
   * daemon of the layout runs that this call did not start, or with
   * containers "leave".
   */
  removeData?: boolean;
}

export interface DaemonStatus {
  /** The pid in the pid file, or null when there is none. */
  pid: number | null;
  /** The pid is alive and is this layout's daemon (not a recycled pid). */
  running: boolean;
  /** The daemon answered its client (ctr version / buildctl debug workers). */
  responding: boolean;
  address: string;
  logFile: string;
}

export interface EngineStatus {
  containerd: DaemonStatus;
  buildkitd: DaemonStatus;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;

/** Resolves after ms, or at once when the signal aborts. */
const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> => sleep(ms, undefined, { signal }).catch(() => {});

export async function startManagedEngine(options: ManagedEngineOptions = {}): Promise<ManagedEngine> {
  const layout = engineLayout(options);
  const problems = socketPathProblems(layout);
  if (problems.length > 0) throw new Error(`managed engine layout unusable:\n${problems.join("\n")}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const env = engineEnvironment(layout, process.env.PATH);
  const specs = daemonSpecs(layout, env);
  // The daemons find containerd-shim-runc-v2 and runc on PATH.
  const daemonEnv: NodeJS.ProcessEnv = { ...process.env, PATH: env.PATH };

  await mkdir(layout.stateDir, { recursive: true, mode: 0o711 });
  const releaseLock = await acquireStartLock(layout.startLockFile, timeoutMs);
  const started: LaunchedDaemon[] = [];
  const pids: Partial<Record<DaemonName, number>> = {};
  try {
    const states = {
      containerd: await inspectDaemon(specs.containerd),
      buildkitd: await inspectDaemon(specs.buildkitd),
    };
    for (const name of ["containerd", "buildkitd"] as const) {
      const state = states[name];
      if (state.kind === "stopped") continue;
      if (!options.reuse) {
        throw new Error(
          `${name} of this engine is already running (pid ${state.pid}, ${specs[name].address}); ` +
            "pass reuse to attach to it, or stop it first",
        );
      }
      if (state.kind === "unresponsive") {
        throw new Error(
          `${name} of this engine runs (pid ${state.pid}) but does not answer on ${specs[name].address}; ` +
            `see ${specs[name].logFile}, or stop it first`,
        );
      }
      pids[name] = state.pid;
    }

    if (states.containerd.kind === "stopped" || states.buildkitd.kind === "stopped") {
      await prepareDirectories(layout);
      await writeConfigs(layout);
    }
    try {
      for (const name of ["containerd", "buildkitd"] as const) {
        if (states[name].kind !== "stopped") continue;
        const daemon = await launchDaemon(specs[name], daemonEnv, {
          detached: options.detached ?? false,
          timeoutMs,
        });
        started.push(daemon);
        pids[name] = daemon.pid;
      }
      if (started.length > 0) await ensureDefaultNetwork(layout, env, timeoutMs);
    } catch (error) {
      for (const daemon of [...started].reverse()) {
        await terminateDaemon(daemon.spec, daemon.pid, daemon.isRunning).catch(() => {});
      }
      throw error;
    }
  } finally {
    await releaseLock();
  }

  const supervisors = new Map<DaemonName, DaemonSupervisor<LaunchedDaemon>>();
  if (options.supervise && !options.detached) {
    const { log } = options.supervise;
    for (const daemon of started) {
      const relaunch = async () => {
        // A killed daemon leaves its pid file and sockets.
        await terminateDaemon(daemon.spec, -1, () => false);
        return launchDaemon(daemon.spec, daemonEnv, { detached: false, timeoutMs });
      };
      supervisors.set(daemon.spec.name, new DaemonSupervisor(daemon.spec.name, daemon, relaunch, { ...SUPERVISOR_DEFAULTS, log, now: Date.now, wait: abortableSleep }));
    }
  }
  /** The process of a daemon this call started, as it is now (a supervised one may have been restarted). */
  const owned = (name: DaemonName) => supervisors.get(name)?.current ?? started.find((daemon) => daemon.spec.name === name);
  const onParentExit = () => {
    // Synchronous: the process is exiting. Tasks first, while containerd still answers.
    if (owned("containerd")?.isRunning()) deleteAllTasksSync(layout, env);
    for (const name of ["buildkitd", "containerd"] as const) {
      const daemon = owned(name);
      if (daemon?.isRunning()) signal(daemon.pid, "SIGTERM");
    }
  };
  if (!options.detached && started.length > 0) process.once("exit", onParentExit);

  /** Refusals happen before anything is stopped, and leave stop() callable again. */
  const checkStopOptions = (stopOptions: EngineStopOptions): void => {
    if (!stopOptions.removeData) return;
    if (stopOptions.containers === "leave") throw new Error('removeData needs containers "stop": running shims hold mounts');
    for (const name of ["containerd", "buildkitd"] as const) {
      if (started.some((daemon) => daemon.spec.name === name)) continue;
      const pid = readPidFileSync(specs[name].pidFile);
      if (pid !== null && isLayoutDaemon(pid, specs[name])) {
        throw new Error(`not removing the engine's data: ${name} (pid ${pid}) runs and was not started by this call`);
      }
    }
  };
  const stopOwned = async (stopOptions: EngineStopOptions): Promise<void> => {
    const containers = stopOptions.containers ?? "stop";
    process.removeListener("exit", onParentExit);
    // No restart from here on; a restart under way ends first, so its process is the one stopped.
    await Promise.all([...supervisors.values()].map((supervisor) => supervisor.stop()));
    const ownedContainerd = owned("containerd");
    const ownedBuildkitd = owned("buildkitd");
    // buildkitd first: it is containerd's client (and would start new tasks).
    if (ownedBuildkitd) await terminateDaemon(ownedBuildkitd.spec, ownedBuildkitd.pid, ownedBuildkitd.isRunning);
    let taskError: unknown = null;
    if (ownedContainerd?.isRunning() && containers === "stop") {
      // containerd goes either way; the error is reported after.
      await stopAllTasks(layout, env, stopOptions.graceSeconds ?? DEFAULT_TASK_GRACE_SECONDS).catch((error: unknown) => {
        taskError = error;
      });
    }
    if (ownedContainerd) await terminateDaemon(ownedContainerd.spec, ownedContainerd.pid, ownedContainerd.isRunning);
    if (stopOptions.removeData) await removeEngineData(layout);
    if (taskError !== null) throw taskError;
  };

  let stopping: Promise<void> | undefined;
  return {
    layout,
    env,
    owned: started.length > 0,
    get pids() {
      return { containerd: owned("containerd")?.pid ?? pids.containerd!, buildkitd: owned("buildkitd")?.pid ?? pids.buildkitd! };
    },
    stop: (stopOptions = {}) => {
      if (stopping === undefined) {
        try {
          checkStopOptions(stopOptions);
        } catch (error) {
          return Promise.reject(error);
        }
        stopping = stopOwned(stopOptions);
      }
      return stopping;
    },
  };
}

export interface StopEngineOptions {
  /** As in EngineStopOptions; default "stop". */
  containers?: "stop" | "leave";
  graceSeconds?: number;
}

/**
 * Stops the engine of a layout whoever started it: buildkitd, then (unless
 * containers is "leave") every task while containerd still answers, then containerd.
 */
export async function stopEngine(
  layout: EngineLayout,
  options: StopEngineOptions = {},
): Promise<{ stopped: DaemonName[]; tasks: StoppedTask[] }> {
  const env = engineEnvironment(layout, process.env.PATH);
  const specs = daemonSpecs(layout, env);
  const stopped: DaemonName[] = [];
  let tasks: StoppedTask[] = [];
  let taskError: unknown = null;
  for (const name of ["buildkitd", "containerd"] as const) {
    const spec = specs[name];
    const pid = await readPidFile(spec.pidFile);
    const isOurs = () => pid !== null && isLayoutDaemon(pid, spec);
    if (isOurs()) stopped.push(name);
    if (name === "containerd" && isOurs() && (options.containers ?? "stop") === "stop" && (await spec.probe())) {
      // containerd goes either way, as in ManagedEngine.stop(); the error is reported after.
      try {
        tasks = await stopAllTasks(layout, env, options.graceSeconds ?? DEFAULT_TASK_GRACE_SECONDS);
      } catch (error) {
        taskError = error;
      }
    }
    // A stale pid file or socket is removed either way.
    await terminateDaemon(spec, pid ?? -1, isOurs);
  }
  if (taskError !== null) throw taskError;
  return { stopped, tasks };
}

/** Read-only: what the pid files say and whether the daemons answer. */
export async function engineStatus(layout: EngineLayout): Promise<EngineStatus> {
  const specs = daemonSpecs(layout, engineEnvironment(layout, process.env.PATH));
  const statusOf = async (spec: DaemonSpec): Promise<DaemonStatus> => {
    const pid = await readPidFile(spec.pidFile);
    const running = pid !== null && isLayoutDaemon(pid, spec);
    return {
      pid,
      running,
      responding: running && (await spec.probe()),
      address: spec.address,
      logFile: spec.logFile,
    };
  };
  const [containerd, buildkitd] = await Promise.all([statusOf(specs.containerd), statusOf(specs.buildkitd)]);
  return { containerd, buildkitd };
}
