import { Writable } from "node:stream";
import { execa, type ResultPromise } from "execa";
import type { Command, CommandRunner, Program, RunOptions, RunResult, RunningCommand } from "./types.ts";

export interface RealRunnerOptions {
  /** Binary path per program; a bare name is looked up on PATH. */
  binaries?: Partial<Record<Program, string>>;
  /** Environment added to the daemon's own (CONTAINERD_ADDRESS, NERDCTL_TOML, PATH…). */
  env?: Record<string, string>;
  /** Kept of a streaming child's stderr for its exit report. */
  stderrTailBytes?: number;
}

/** Runs the engine's programs with execa, never through a shell, and owns every child it starts. */
export class RealRunner implements CommandRunner {
  readonly #binaries: Partial<Record<Program, string>>;
  readonly #env: Record<string, string>;
  readonly #stderrTailBytes: number;
  readonly #children = new Set<ResultPromise>();

  constructor(options: RealRunnerOptions = {}) {
    this.#binaries = options.binaries ?? {};
    this.#env = options.env ?? {};
    this.#stderrTailBytes = options.stderrTailBytes ?? 64 * 1024;
  }

  async run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    const child = this.#start(command, { input: options.input, stdin: options.input === undefined ? "ignore" : "pipe" }, options.signal);
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => killGroup(child), options.timeoutMs);
    const result = await child.finally(() => clearTimeout(timer));
    return {
      stdout: String(result.stdout ?? ""),
      stderr: String(result.stderr ?? ""),
      exitCode: exitCodeOf(result),
    };
  }

  spawn(command: Command, options: { signal?: AbortSignal } = {}): RunningCommand {
    const child = this.#start(command, { buffer: false, stdin: command.stdinFd ?? "pipe" }, options.signal);
    let stderrTail = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-this.#stderrTailBytes);
    });
    // A client that stops reading must not make the child hang on a full
    // stdin pipe error; the exit report carries the failure instead.
    const stdin = child.stdin ?? new Writable({ write: (_chunk, _encoding, done) => done(new Error("stdin is a file descriptor")) }).end();
    stdin.on("error", () => {});
    const exited = child.then((result) => ({ stdout: "", stderr: stderrTail, exitCode: exitCodeOf(result) }));
    return {
      stdin,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited,
      kill: () => killGroup(child),
    };
  }

  /** Kills every child still running, and what each started (daemon shutdown). */
  killAll(): void {
    for (const child of this.#children) killGroup(child);
  }

  get liveChildren(): number {
    return this.#children.size;
  }

  #start(command: Command, extra: Record<string, unknown>, signal?: AbortSignal): ResultPromise {
    const file = this.#binaries[command.program] ?? command.program;
    const child = execa(file, [...command.args], {
      env: command.env ? { ...this.#env, ...command.env } : this.#env,
      extendEnv: true,
      reject: false,
      stripFinalNewline: false,
      killSignal: "SIGKILL",
      // Its own process group: nerdctl starts buildctl and others, which must die with it.
      detached: true,
      ...extra,
    }) as ResultPromise;
    this.#children.add(child);
    const onAbort = () => killGroup(child);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    const forget = () => {
      this.#children.delete(child);
      signal?.removeEventListener("abort", onAbort);
    };
    child.then(forget, forget);
    return child;
  }
}

/** SIGKILL to the child's whole process group (it leads one: it was started detached). */
function killGroup(child: ResultPromise): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

function exitCodeOf(result: { exitCode?: number; signal?: string; failed?: boolean; code?: string }): number {
  if (typeof result.exitCode === "number") return result.exitCode;
  // Killed by a signal, or could not start at all (ENOENT): report like a shell.
  if (result.code === "ENOENT") return 127;
  return 128 + (result.signal ? 9 : 1);
}
