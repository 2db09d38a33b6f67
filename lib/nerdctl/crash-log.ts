import { describeCommand, type Command, type CommandRunner, type InteractiveCommand, type InteractiveOptions, type RunOptions, type RunResult, type RunningCommand } from "../runner/types.ts";
import { crashSite } from "./errors.ts";

export type CrashLog = (line: string, fields: { request_id?: string }) => void;

/**
 * Writes the trace of every nerdctl crash (a Go panic) met by the calls that
 * go through it to the daemon's log, as serving the request the call served:
 * the client gets one line (errors.ts), the trace is for whoever reads the
 * log. Buffered calls and streamed children alike, whatever their caller
 * makes of the failure. A place that crashes again is one line after the
 * first (one image that every `docker ps` reads).
 */
export class CrashLoggingRunner implements CommandRunner {
  readonly #loggedSites = new Set<string>();

  constructor(
    private readonly inner: CommandRunner,
    private readonly log: CrashLog,
  ) {}

  async run(command: Command, options?: RunOptions): Promise<RunResult> {
    const result = await this.inner.run(command, options);
    this.#check(command, result);
    return result;
  }

  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
    const child = this.inner.spawn(command, options);
    child.exited.then(
      (result) => this.#check(command, result),
      () => {},
    );
    return child;
  }

  /** A session's stderr is its client's to read (or its terminal's): nothing is kept of it here. */
  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand {
    return this.inner.interactive(command, options);
  }

  #check(command: Command, result: RunResult): void {
    if (result.exitCode === 0) return;
    const site = crashSite(result.stderr);
    if (!site) return;
    const line = `nerdctl crashed: ${site.reason} (${shortened(describeCommand(command))})`;
    const key = `${site.reason} ${site.frame}`;
    const fields = { request_id: command.requestId };
    if (this.#loggedSites.has(key)) {
      this.log(`${line} (again; its trace is above)`, fields);
    } else {
      this.#loggedSites.add(key);
      this.log(`${line}\n${result.stderr.trim()}`, fields);
    }
  }
}

/** A call as the log names it: a listing of hundreds of ids is cut. */
function shortened(call: string): string {
  return call.length <= 200 ? call : `${call.slice(0, 200)}…`;
}
