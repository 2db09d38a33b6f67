import { constants } from "node:os";
import { Readable, Writable } from "node:stream";
import { execa, type ResultPromise } from "execa";
import { spawn as spawnTerminal } from "node-pty";
import type {
  Command,
  CommandRunner,
  ExitStatus,
  InteractiveCommand,
  InteractiveOptions,
  Program,
  RunOptions,
  RunResult,
  RunningCommand,
} from "./types.ts";

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
  /** The kill of every child still running, which reaches its process group too when it leads one. */
  readonly #children = new Set<() => void>();

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

  interactive(command: Command, options: InteractiveOptions = {}): InteractiveCommand {
    if (options.tty) return this.#terminal(command, options.tty, options.signal);
    const { child, kill } = this.#start(command, { buffer: false, stdin: "pipe" }, options.signal);
    // Input the child no longer reads is lost as a client's would be; the exit status says how it ended.
    child.stdin!.on("error", () => {});
    return {
      tty: false,
      stdin: child.stdin!,
      stdout: child.stdout!,
      stderr: child.stderr!,
      exited: child.then((result) => ({ exitCode: exitCodeOf(result), ...(result.signal ? { signal: result.signal } : {}) })),
      kill,
    };
  }

  #terminal(command: Command, size: { columns: number; rows: number }, signal?: AbortSignal): InteractiveCommand {
    // node-pty execs the file itself (no shell) in a new session, so the child leads its process group.
    const terminal = spawnTerminal(this.#binaries[command.program] ?? command.program, [...command.args], {
      cols: size.columns,
      rows: size.rows,
      cwd: process.cwd(),
      env: { ...process.env, ...this.#env, ...command.env },
      encoding: null,
    });
    let ended = false;
    // Paused while the reader is behind, so the child waits instead of the daemon buffering; the
    // high mark is large because node-pty drops what is unread 200 ms after the child exits.
    const stdout = new Readable({ highWaterMark: 1024 * 1024, read: () => terminal.resume() });
    // Buffers, not strings (encoding: null), whatever node-pty's types say.
    terminal.onData((data) => {
      if (!stdout.push(data)) terminal.pause();
    });
    const exited = new Promise<ExitStatus>((resolve) => {
      terminal.onExit(({ exitCode, signal: number }) => {
        ended = true;
        stdout.push(null);
        const name = signalName(number);
        resolve(name ? { exitCode: 128 + number!, signal: name } : { exitCode });
      });
    });
    let atLineStart = true;
    const stdin = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // A closed terminal takes nothing, as a closed pipe would not.
        if (!ended && chunk.length > 0) {
          terminal.write(chunk);
          atLineStart = chunk[chunk.length - 1] === 0x0a || chunk[chunk.length - 1] === 0x0d;
        }
        done();
      },
      final(done) {
        // ^D hands a partial line over without ending the input: one more makes the read return 0.
        if (!ended) terminal.write(atLineStart ? "\x04" : "\x04\x04");
        done();
      },
    });
    const kill = () => killChild(terminal, true);
    this.#own(kill, exited, signal);
    return {
      tty: true,
      stdin,
      stdout,
      exited,
      kill,
      resize: (columns, rows) => {
        if (!ended) terminal.resize(columns, rows);
      },
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
    this.#own(kill, child, signal);
    return { child, kill };
  }

  /** Keeps a child's kill until the child has ended, for killAll and the caller's signal. */
  #own(kill: () => void, ended: Promise<unknown>, signal?: AbortSignal): void {
    this.#children.add(kill);
    if (signal?.aborted) kill();
    else signal?.addEventListener("abort", kill, { once: true });
    const forget = () => {
      this.#children.delete(kill);
      signal?.removeEventListener("abort", kill);
    };
    ended.then(forget, forget);
  }
}

/** SIGKILL to the child, and to its whole process group when it leads one (it was started detached). */
function killChild(child: { readonly pid?: number; kill(signal: "SIGKILL"): unknown }, group: boolean): void {
  if (child.pid === undefined) return;
  try {
    if (group) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

function exitCodeOf(result: { exitCode?: number; signal?: NodeJS.Signals; failed?: boolean; code?: string }): number {
  if (typeof result.exitCode === "number") return result.exitCode;
  // Killed by a signal, or could not start at all (ENOENT): report like a shell.
  if (result.code === "ENOENT") return 127;
  return 128 + (result.signal ? constants.signals[result.signal] : 1);
}

function signalName(number: number | undefined): NodeJS.Signals | undefined {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((name) => constants.signals[name] === number);
}
