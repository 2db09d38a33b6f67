import { Transform, type TransformCallback } from "node:stream";
import type { ExitStatus, InteractiveCommand } from "../runner/types.ts";
import type { Nerdctl } from "./client.ts";
import { nerdctlMessage } from "./errors.ts";
import { assertObjectName } from "./validate.ts";

/** A `nerdctl exec`: every value is one argv word of its own, or after `--`. */
export interface ExecOptions {
  /** The container's id or name (checked by Docker's name rule). */
  container: string;
  command: readonly string[];
  /** Keeps the process's stdin open for what the caller writes (-i). */
  interactive: boolean;
  /** A terminal for the process (-t); nerdctl then needs one itself. */
  tty: boolean;
  privileged: boolean;
  user?: string;
  workdir?: string;
  /** NAME=value each: nerdctl fills a bare NAME from its own environment. */
  env: readonly string[];
}

/**
 * `nerdctl exec`'s argv. nerdctl stops reading flags at the first word that
 * is not one, and drops one `--` right after the container: the container
 * comes after a `--`, and another `--` always follows it, so a command whose
 * first word is `--` keeps it.
 */
export function execArgs(options: ExecOptions): string[] {
  assertObjectName("container", options.container);
  const args = ["exec"];
  if (options.interactive) args.push("--interactive");
  if (options.tty) args.push("--tty");
  if (options.privileged) args.push("--privileged");
  if (options.user) args.push(`--user=${options.user}`);
  if (options.workdir) args.push(`--workdir=${options.workdir}`);
  for (const variable of options.env) args.push(`--env=${variable}`);
  return [...args, "--", options.container, "--", ...options.command];
}

/**
 * Starts the exec: over pipes, or with a terminal of the given size when
 * options.tty (nerdctl makes it raw and passes its size changes on to the
 * process's own terminal).
 */
export function startExec(nerdctl: Nerdctl, options: ExecOptions, size: { columns: number; rows: number }): InteractiveCommand {
  const command = nerdctl.command(execArgs(options));
  return nerdctl.runner.interactive(command, options.tty ? { tty: size } : {});
}

/** How an exec ended, as nerdctl tells it. */
export type ExecOutcome =
  /** The process ran and exited with this code. */
  | { kind: "exited"; exitCode: number }
  /** nerdctl could not start the process (no such command, user, directory…): its message. */
  | { kind: "not-started"; message: string }
  /** nerdctl itself was killed: what became of the process is not known. */
  | { kind: "killed"; exitCode: number };

/**
 * nerdctl's last words: after the process's output it logs one line, which
 * on a pipe reads `time="…" level=fatal msg="…"`, and on a terminal is
 * logrus's coloured `FATA[0000] …`. It says the process's exit code
 * ("exec failed with exit code 7") or why the process never started.
 */
const TRAILERS = {
  pipe: { mark: 'time="', line: /^time="[^"\n]*" level=fatal msg="(?:[^"\\\n]|\\.)*"\n$/ },
  terminal: { mark: "\x1b[31mFATA\x1b[0m[", line: /^\x1b\[31mFATA\x1b\[0m\[\d+\] [^\n]*\r?\n$/ },
};

const EXIT_CODE = /^exec failed with exit code (\d+)$/;

/**
 * Passes nerdctl's output (stderr over pipes, the terminal's output with a
 * terminal) on as it comes, except its last line when that is nerdctl's own:
 * a tail that is, or is becoming, such a line is held until more output shows
 * it is the process's, or until nerdctl has exited. `outcome` settles before
 * the stream ends.
 */
export class ExecTrailer extends Transform {
  readonly outcome: Promise<ExecOutcome>;
  #settle: (outcome: ExecOutcome) => void = () => {};
  #held: Buffer = Buffer.alloc(0);
  readonly #trailer: (typeof TRAILERS)["pipe"];

  constructor(
    private readonly exited: Promise<ExitStatus>,
    terminal: boolean,
  ) {
    super();
    this.#trailer = terminal ? TRAILERS.terminal : TRAILERS.pipe;
    this.outcome = new Promise((resolve) => (this.#settle = resolve));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    const hold = this.#holdFrom(data.toString("latin1"));
    if (hold > 0) this.push(data.subarray(0, hold));
    this.#held = data.subarray(hold);
    done();
  }

  override _flush(done: TransformCallback): void {
    void this.exited.then((status) => {
      const { outcome, consumed } = this.#read(status);
      if (!consumed && this.#held.length > 0) this.push(this.#held);
      this.#settle(outcome);
      done();
    });
  }

  /** Where the tail that may be nerdctl's line begins (the data's length when there is none). */
  #holdFrom(text: string): number {
    const start = text.lastIndexOf(this.#trailer.mark);
    if (start < 0) return text.length;
    const tail = text.slice(start);
    return !tail.includes("\n") || this.#trailer.line.test(tail) ? start : text.length;
  }

  /** The outcome, and whether the held tail was nerdctl's line (then nobody sees it). */
  #read(status: ExitStatus): { outcome: ExecOutcome; consumed: boolean } {
    if (status.signal) return { outcome: { kind: "killed", exitCode: status.exitCode }, consumed: false };
    const held = this.#held.toString("utf8");
    if (status.exitCode === 0 || !this.#trailer.line.test(held)) return { outcome: { kind: "exited", exitCode: status.exitCode }, consumed: false };
    // On a terminal the line is coloured, and ends as the terminal ends lines.
    const message = nerdctlMessage(held.replace(/\x1b\[[0-9;]*m|\r/g, ""));
    const code = EXIT_CODE.exec(message);
    return { outcome: code ? { kind: "exited", exitCode: Number(code[1]) } : { kind: "not-started", message }, consumed: true };
  }
}
