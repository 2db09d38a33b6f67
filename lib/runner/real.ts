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
  /** Every child still running, with the kill that reaches it (and its process group, when it leads one). */
  readonly #children = new Map<ResultPromise, () => void>();

  constructor(options: RealRunnerOptions = {}) {
    this.#binaries = options.binaries ?? {};
    this.#env = options.env ?? {};
    this.#stderrTailBytes = options.stderrTailBytes ?? 64 * 1024;
  }

  async run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    const { child, kill } = this.#start(command, { input: options.input, stdin: options.input === undefined ? "ignore" : "pipe" }, options.signal);
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(kill, options.timeoutMs);
    const result = await child.finally(() => clearTimeout(timer));
    return {
      stdout: String(result.stdout ?? ""),
      stderr: String(result.stderr ?? ""),
      exitCode: exitCodeOf(result),
    };
  }

  spawn(command: Command, options: { signal?: AbortSignal } = {}): RunningCommand {
    const { child, kill } = this.#start(command, { buffer: false, stdin: command.stdinFd ?? "pipe" }, options.signal);
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
      kill,
    };
  }

  /** Kills every child still running, and what each started (daemon shutdown). */
  killAll(): void {
    for (const kill of this.#children.values()) kill();
  }

  get liveChildren(): number {
    return this.#children.size;
  }

  #start(command: Command, extra: Record<string, unknown>, signal?: AbortSignal): { child: ResultPromise; kill: () => void } {
    const file = this.#binaries[command.program] ?? command.program;
    const ownGroup = !command.sameSession;
    const child = execa(file, [...command.args], {
      env: command.env ? { ...this.#env, ...command.env } : this.#env,
      extendEnv: true,
      reject: false,
      stripFinalNewline: false,
      killSignal: "SIGKILL",
      // Its own process group: nerdctl starts buildctl and others, which must die with it.
      detached: ownGroup,
      ...extra,
    }) as ResultPromise;
    const kill = () => killChild(child, ownGroup);
    this.#children.set(child, kill);
    if (signal?.aborted) kill();
    else signal?.addEventListener("abort", kill, { once: true });
    const forget = () => {
      this.#children.delete(child);
      signal?.removeEventListener("abort", kill);
    };
    child.then(forget, forget);
    return { child, kill };
  }
}

/** SIGKILL to the child, and to its whole process group when it leads one (it was started detached). */
function killChild(child: ResultPromise, group: boolean): void {
  if (child.pid === undefined) return;
  try {
    if (group) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
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
