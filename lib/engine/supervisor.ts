/**
 * Keeps a daemon of the managed engine running, as dockerd keeps its managed
 * containerd: when it exits without being stopped, it is started again after
 * a delay that doubles while it keeps dying soon after each start (and starts
 * over once it has run a while), each step logged.
 */
import type { DaemonName } from "./daemons.ts";

/** The daemon as the supervisor sees it: a pid, and a promise of why it exited. */
export interface SupervisedDaemon {
  pid: number;
  /** Resolves, with the reason, when the process exits. */
  exited: Promise<string>;
}

export interface SupervisorOptions {
  log(line: string): void;
  /** The first delay before a restart. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A daemon that ran this long before exiting is restarted after the first delay again. */
  stableMs: number;
  /** Waits ms, or less when the signal aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
}

export const SUPERVISOR_DEFAULTS = { initialDelayMs: 500, maxDelayMs: 30_000, stableMs: 60_000 };

/** The delay before the restart after `failures` quick deaths in a row (0 for the first). */
export function restartDelay(failures: number, options: Pick<SupervisorOptions, "initialDelayMs" | "maxDelayMs">): number {
  return Math.min(options.initialDelayMs * 2 ** failures, options.maxDelayMs);
}

export class DaemonSupervisor<D extends SupervisedDaemon> {
  #current: D;
  readonly #abort = new AbortController();
  readonly #watching: Promise<void>;

  constructor(
    readonly name: DaemonName,
    daemon: D,
    private readonly relaunch: () => Promise<D>,
    private readonly options: SupervisorOptions,
  ) {
    this.#current = daemon;
    this.#watching = this.#watch();
  }

  /** The process running now (or the last one, while a restart is pending). */
  get current(): D {
    return this.#current;
  }

  /** Stops restarting; resolves once no restart is under way, so `current` is the last process. */
  async stop(): Promise<D> {
    this.#abort.abort();
    await this.#watching;
    return this.#current;
  }

  async #watch(): Promise<void> {
    const { log, now, wait } = this.options;
    const stopped = this.#abort.signal;
    const aborted = new Promise<null>((resolve) => stopped.addEventListener("abort", () => resolve(null), { once: true }));
    let failures = 0;
    let startedAt = now();
    let exited: Promise<string> = this.#current.exited;
    for (;;) {
      const reason = await Promise.race([exited, aborted]);
      if (reason === null || stopped.aborted) return;
      if (now() - startedAt >= this.options.stableMs) failures = 0;
      const delay = restartDelay(failures, this.options);
      failures += 1;
      log(`managed engine: ${this.name} ${reason}; restarting it in ${delay} ms`);
      await wait(delay, stopped);
      if (stopped.aborted) return;
      startedAt = now();
      try {
        this.#current = await this.relaunch();
        exited = this.#current.exited;
        log(`managed engine: ${this.name} restarted (pid ${this.#current.pid})`);
      } catch (error) {
        exited = Promise.resolve(`could not be restarted: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  }
}
