import { commandKey } from "./fixture.ts";
import type { Command, CommandRunner, InteractiveCommand, InteractiveOptions, RunOptions, RunResult, RunningCommand } from "./types.ts";

/**
 * Lets concurrent identical reads share one child: fifty clients asking for
 * /version at once start one `nerdctl version`. A read joins another only if
 * no other command has started since that one did, so nobody sees a state
 * older than a change that began before they asked.
 */
export class CoalescingRunner implements CommandRunner {
  #generation = 0;
  readonly #inFlight = new Map<string, { generation: number; result: Promise<RunResult> }>();

  constructor(private readonly inner: CommandRunner) {}

  run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    if (!options.shared || options.input !== undefined || options.signal) {
      this.#generation += 1;
      return this.inner.run(command, options);
    }
    const key = commandKey(command);
    const running = this.#inFlight.get(key);
    if (running && running.generation === this.#generation) return running.result;
    const generation = this.#generation;
    const result = this.inner.run(command, options);
    const entry = { generation, result };
    this.#inFlight.set(key, entry);
    const forget = () => {
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
    };
    result.then(forget, forget);
    return result;
  }

  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
    this.#generation += 1;
    return this.inner.spawn(command, options);
  }

  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand {
    this.#generation += 1;
    return this.inner.interactive(command, options);
  }
}

/**
 * The same runner, its reads never joining one already running: for a reader
 * that must see every change made before it asked, a change the engine made
 * on its own (no command of ours started) included.
 */
export function freshReads(runner: CommandRunner): CommandRunner {
  return {
    run: (command, options = {}) => runner.run(command, { ...options, shared: false }),
    spawn: (command, options) => runner.spawn(command, options),
    interactive: (command, options) => runner.interactive(command, options),
  };
}
