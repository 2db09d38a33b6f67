import type { EventSnapshot, EventTranslator } from "../../docker/event-translator.ts";
import type { DockerEvent } from "../../docker/events.ts";
import { groupImages } from "../../docker/image-model.ts";
import { readLines } from "../../io/lines.ts";
import type { Nerdctl } from "../../nerdctl/client.ts";
import { allContainers } from "../../nerdctl/containers.ts";
import { parseEventLine, spawnEvents, type NerdctlEvent } from "../../nerdctl/events.ts";
import { inspectAllRecords } from "../../nerdctl/images.ts";
import type { RunResult, RunningCommand } from "../../runner/types.ts";

export interface SourceOptions {
  /** A child that ends after running this long is restarted at once (after restartDelayMs); sooner, it failed. */
  minUptimeMs: number;
  restartDelayMs: number;
  /** The longest wait between attempts while the child keeps failing at once. */
  maxRestartDelayMs: number;
  log?: (line: string) => void;
  /** The child ended (or could not start) without being stopped, and is to be started again. */
  restarting?: (namespace: string) => void;
}

/** What the source tells its namespace. */
export interface SourceSink {
  /** Runs work after everything published before it, so events keep their order. */
  serial(work: () => Promise<void> | void): Promise<void>;
  publish(event: DockerEvent): void;
  /** The child failed soon after starting (or could not start): readers get the error. */
  failed(error: Error): void;
  /** The child started: events from now on reach `event`, in order, until `ended`. */
  started(): void;
  event(event: NerdctlEvent): void;
  ended(): void;
}

interface Run {
  child: RunningCommand;
  abort: AbortController;
  startedAt: number;
  stopped: boolean;
}

/**
 * Containers and images as they are when a source starts; a part that fails
 * is empty. One call after the other: the stream's events wait for it anyway.
 * (Networks are looked up only when nerdctld removes one it has not seen made.)
 */
async function eventSnapshot(nerdctl: Nerdctl): Promise<EventSnapshot> {
  const containers = await allContainers(nerdctl).catch(() => []);
  const images = await inspectAllRecords(nerdctl).then(groupImages, () => []);
  return { containers, images };
}

/**
 * One namespace's long-lived `nerdctl events`, kept running by its owner (the
 * daemon) until stop(): a child that dies is started again, at once when it
 * had run a while, with a growing delay while it keeps failing at start.
 */
export class EngineEventSource {
  #run: Run | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;

  constructor(
    readonly namespace: string,
    private readonly nerdctl: Nerdctl,
    private readonly translator: EventTranslator,
    private readonly sink: SourceSink,
    private readonly options: SourceOptions,
  ) {}

  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Starts the child unless it runs (a restart waiting is brought forward). */
  ensureRunning(): void {
    this.#stopped = false;
    if (this.#run) return;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#start();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const run = this.#run;
    this.#run = undefined;
    if (!run) return;
    run.stopped = true;
    run.abort.abort();
    run.child.kill();
    this.sink.ended();
  }

  #start(): void {
    const abort = new AbortController();
    let child: RunningCommand;
    try {
      child = spawnEvents(this.nerdctl, abort.signal);
    } catch (error) {
      this.#failed(`cannot start nerdctl events: ${String(error)}`);
      return;
    }
    const run: Run = { child, abort, startedAt: Date.now(), stopped: false };
    this.#run = run;
    this.sink.started();
    // What exists already is read while the child starts; its events wait for it, in order.
    const loaded = eventSnapshot(this.nerdctl).then((snapshot) => this.translator.load(snapshot));
    void this.sink.serial(() => loaded);
    const pump = (async () => {
      for await (const line of readLines(child.stdout)) {
        if (run.stopped) break;
        const event = parseEventLine(line);
        if (!event || event.Namespace !== this.namespace) continue;
        this.sink.event(event);
        await this.sink.serial(async () => {
          if (run.stopped) return;
          for (const translated of await this.translator.translate(event)) this.sink.publish(translated);
        });
      }
    })();
    void Promise.allSettled([pump, child.exited]).then(([, exit]) => {
      this.#ended(run, exit.status === "fulfilled" ? exit.value : undefined);
    });
  }

  #ended(run: Run, exit: RunResult | undefined): void {
    if (run.stopped || this.#run !== run) return;
    this.#run = undefined;
    this.sink.ended();
    const why = `nerdctl events ended (exit ${exit?.exitCode ?? "unknown"})${exit?.stderr.trim() ? `: ${exit.stderr.trim().split("\n").at(-1)}` : ""}`;
    if (Date.now() - run.startedAt < this.options.minUptimeMs) {
      this.#failed(why);
      return;
    }
    this.options.log?.(`events ${this.namespace}: ${why}; restarting`);
    this.#failures = 0;
    this.#restartIn(this.options.restartDelayMs);
  }

  #failed(why: string): void {
    this.#failures += 1;
    const delay = Math.min(this.options.restartDelayMs * 2 ** this.#failures, this.options.maxRestartDelayMs);
    this.options.log?.(`events ${this.namespace}: ${why}; trying again in ${delay} ms`);
    this.sink.failed(new Error(`events: ${why}`));
    this.#restartIn(delay);
  }

  #restartIn(delay: number): void {
    if (this.#stopped) return;
    this.options.restarting?.(this.namespace);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#run && !this.#stopped) this.#start();
    }, delay);
    this.#restartTimer.unref?.();
  }
}
