import {
  describeCommand,
  type Command,
  type CommandRunner,
  type InteractiveCommand,
  type InteractiveOptions,
  type RunOptions,
  type RunResult,
  type RunningCommand,
} from "./types.ts";

/** Logs every engine call and how it ended (--debug), as serving the request it serves. */
export class LoggingRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    private readonly write: (line: string, fields: { request_id?: string }) => void,
  ) {}

  private log(command: Command, line: string): void {
    this.write(line, { request_id: command.requestId });
  }

  async run(command: Command, options?: RunOptions): Promise<RunResult> {
    const started = performance.now();
    const result = await this.inner.run(command, options);
    this.log(command, `exec ${describeCommand(command)} -> exit ${result.exitCode} in ${Math.round(performance.now() - started)} ms`);
    return result;
  }

  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
    this.log(command, `spawn ${describeCommand(command)}`);
    const child = this.inner.spawn(command, options);
    void child.exited.then((result) => this.log(command, `spawned ${describeCommand(command)} -> exit ${result.exitCode}`));
    return child;
  }

  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand {
    this.log(command, `interactive${options?.tty ? " (tty)" : ""} ${describeCommand(command)}`);
    const child = this.inner.interactive(command, options);
    // The caller sees a failed exit (a replayed session that went off script); this is only the log.
    child.exited.then(
      (result) => this.log(command, `interactive ${describeCommand(command)} -> exit ${result.exitCode}`),
      () => {},
    );
    return child;
  }
}
