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
    const child = this.#start(command, {
      input: options.input,
      cancelSignal: options.signal,
      timeout: options.timeoutMs,
      stdin: options.input === undefined ? "ignore" : "pipe",
    });
    const result = await child;
    return {
      stdout: String(result.stdout ?? ""),
      stderr: String(result.stderr ?? ""),
      exitCode: exitCodeOf(result),
    };
  }

  spawn(command: Command, options: { signal?: AbortSignal } = {}): RunningCommand {
    const child = this.#start(command, { cancelSignal: options.signal, buffer: false, stdin: command.stdinFd ?? "pipe" });
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
      kill: () => {
        child.kill("SIGKILL");
      },
    };
  }

  /** Kills every child still running (daemon shutdown). */
  killAll(): void {
    for (const child of this.#children) child.kill("SIGKILL");
  }

  get liveChildren(): number {
    return this.#children.size;
  }

  #start(command: Command, extra: Record<string, unknown>): ResultPromise {
    const file = this.#binaries[command.program] ?? command.program;
    const child = execa(file, [...command.args], {
      env: command.env ? { ...this.#env, ...command.env } : this.#env,
      extendEnv: true,
      reject: false,
      stripFinalNewline: false,
      forceKillAfterDelay: 2000,
      killSignal: "SIGKILL",
      ...extra,
    }) as ResultPromise;
    this.#children.add(child);
    const forget = () => this.#children.delete(child);
    child.then(forget, forget);
    return child;
  }
}

function exitCodeOf(result: { exitCode?: number; signal?: string; failed?: boolean; code?: string }): number {
  if (typeof result.exitCode === "number") return result.exitCode;
  // Killed by a signal, or could not start at all (ENOENT): report like a shell.
  if (result.code === "ENOENT") return 127;
  return 128 + (result.signal ? 9 : 1);
}
