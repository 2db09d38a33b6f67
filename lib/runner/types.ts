import type { Readable, Writable } from "node:stream";

/**
 * The programs nerdctld runs. The real runner maps each to a binary path.
 * ctr, unshare and nsenter mount a container's snapshot where only nerdctld
 * sees it (container archives of containers without a task).
 */
export type Program = "nerdctl" | "buildctl" | "containerd" | "runc" | "ctr" | "unshare" | "nsenter";

/** One invocation: the program and its arguments (never passed through a shell). */
export interface Command {
  program: Program;
  args: readonly string[];
  /**
   * Variables added to the child's environment for this call only (e.g. a
   * temporary DOCKER_CONFIG holding registry credentials, which must never be
   * in argv). Not part of a fixture's identity.
   */
  env?: Readonly<Record<string, string>>;
  /**
   * spawn only: an open file descriptor the child reads as its stdin instead
   * of a pipe (Node's pipes are socketpairs; `nerdctl load` wants a FIFO).
   * The RunningCommand's stdin is then already closed. Not part of a fixture's identity.
   */
  stdinFd?: number;
  /**
   * The child stays in the daemon's session instead of leading a process
   * group of its own. Only for commands that start no helpers (a group is
   * what lets a kill reach those): the kernel's autogroup scheduler gives
   * every session an equal share of a busy CPU, so a save or load in a session
   * of its own takes CPU from containerd, which does most of its work.
   */
  sameSession?: boolean;
  /** The API request the call serves, for the log (none: the daemon's own work). Not part of a fixture's identity. */
  requestId?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Bytes written to the child's stdin, then closed. */
  input?: string | Uint8Array;
  /** Aborting kills the child at once. */
  signal?: AbortSignal;
  /** Kills the child after this many milliseconds. */
  timeoutMs?: number;
  /** A read that changes nothing: identical concurrent ones may share one child. */
  shared?: boolean;
}

/** A child whose streams are piped by the caller. */
export interface RunningCommand {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Settles when the child has exited; stderr is the tail the runner kept. */
  exited: Promise<RunResult>;
  kill(): void;
}

export interface InteractiveOptions {
  /**
   * A pseudo-terminal of this size instead of pipes (docker run -t). The child
   * then leads a session of its own whatever its sameSession says: a terminal
   * needs one.
   */
  tty?: { columns: number; rows: number };
  /** Aborting kills the child at once. */
  signal?: AbortSignal;
}

/** How an interactive child ended. */
export interface ExitStatus {
  /** As a shell reports it: 128 + n when signal n ended the child. */
  exitCode: number;
  signal?: NodeJS.Signals;
}

interface Session {
  /**
   * end() closes the child's input while its output keeps flowing; under a
   * terminal that is the terminal's end-of-file (^D), the only close a terminal has.
   */
  stdin: Writable;
  /** Under a terminal, all the child printed: a terminal has one output. */
  stdout: Readable;
  exited: Promise<ExitStatus>;
  kill(): void;
}

/**
 * A child talked to while it runs (docker run -i, exec -i, attach): over
 * pipes, or a terminal. Read its output from the start: over pipes, output
 * nobody is reading is dropped, as with spawn.
 */
export type InteractiveCommand =
  | (Session & { tty: false; stderr: Readable })
  | (Session & {
      tty: true;
      /** The terminal's new size; the child gets SIGWINCH. */
      resize(columns: number, rows: number): void;
    });

/**
 * The seam between the daemon and the engine: a buffered call for commands
 * whose output is small, a streaming call for everything sized by the user
 * (images, logs, events, build contexts), and an interactive one for sessions
 * a client types into.
 */
export interface CommandRunner {
  run(command: Command, options?: RunOptions): Promise<RunResult>;
  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand;
  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand;
}

/** Renders a command the way a shell user would read it (for errors and logs only). */
export function describeCommand(command: Command): string {
  return [command.program, ...command.args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word))).join(" ");
}
