import type { Command, CommandRunner, InteractiveCommand, InteractiveOptions, RunOptions, RunResult, RunningCommand } from "./types.ts";

interface Waiter {
  admit(): void;
}

/**
 * Bounds the buffered engine calls running at once; the excess waits, first
 * come first served. Only buffered calls take a place: each ends by itself
 * (its child exits, or its timeout or its client's signal kills it).
 * Streaming and interactive children (events, logs -f, attach, exec, a held
 * container's stdio, pulls and builds) run as long as a client or a
 * container keeps them, so they start at once and take none: were they
 * counted, enough of them would leave no place for the calls that end them
 * (a `nerdctl stop`), and the daemon would wait forever.
 */
export class LimitingRunner implements CommandRunner {
  #running = 0;
  readonly #queue: Waiter[] = [];

  constructor(
    private readonly inner: CommandRunner,
    readonly limit: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`the limit of engine calls must be a positive integer, not ${limit}`);
  }

  /** Buffered calls waiting for a place. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Buffered calls holding a place. */
  get running(): number {
    return this.#running;
  }

  async run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    await this.#admission(options.signal);
    try {
      return await this.inner.run(command, options);
    } finally {
      this.#release();
    }
  }

  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
    return this.inner.spawn(command, options);
  }

  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand {
    return this.inner.interactive(command, options);
  }

  /** A place, now or when one is freed; a call whose signal aborts while waiting leaves the queue. */
  #admission(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.#running < this.limit) {
      this.#running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener("abort", leave);
          resolve();
        },
      };
      const leave = () => {
        this.#queue.splice(this.#queue.indexOf(waiter), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", leave, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** The place passes to the first waiter, or is freed. */
  #release(): void {
    const next = this.#queue.shift();
    if (next) next.admit();
    else this.#running -= 1;
  }
}
