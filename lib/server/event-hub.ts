/**
 * GET /events for every client from one long-lived `nerdctl events` per
 * containerd namespace: started for the first subscriber, shared by all,
 * stopped a little after the last one leaves. Each namespace keeps a bounded
 * buffer of recent events (dockerd replays `since` from its own), and each
 * subscriber a bounded queue: one that reads too slowly is dropped with an
 * error, never buffered for without end.
 */
import {
  encodeEvent,
  eventMatches,
  EventTranslator,
  imageOperationOf,
  nowNano,
  type DockerEvent,
  type EventQuery,
  type ImageOperation,
} from "../docker/events.ts";
import type { Filters } from "../docker/filters.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import {
  eventSnapshot,
  imageIdOf,
  inspectContainerById,
  networkIdentities,
  observeCommand,
  parseEventLine,
  spawnEvents,
  type ObservedCommand,
} from "../nerdctl/events.ts";
import type { ServerResponse } from "node:http";
import type { H3Event } from "h3";
import type { Command, CommandRunner, RunOptions, RunResult, RunningCommand } from "../runner/types.ts";
import { clientGone, readLines, whenClientGone } from "./streams.ts";

export interface EventHubOptions {
  /** The namespace of requests that name none (the daemon's). */
  defaultNamespace?: string;
  /** How long a source outlives its last subscriber (a client reconnecting keeps it). */
  lingerMs?: number;
  /** Events kept per namespace for `since`: at most this many… */
  bufferSize?: number;
  /** …and none older than this. */
  bufferAgeMs?: number;
  /** Events a subscriber may have waiting; one more and it is dropped. */
  queueLimit?: number;
  /** A source that ends after running this long is restarted; sooner, its subscribers get the error. */
  minUptimeMs?: number;
  restartDelayMs?: number;
  /** How long an image-making command still names what it made after it finished (its events come late). */
  operationGraceMs?: number;
  /** The clock events are aged and `until` is measured by (tests replay recorded times). */
  now?: () => number;
  log?: (line: string) => void;
}

const DEFAULTS = {
  defaultNamespace: "default",
  lingerMs: 5_000,
  bufferSize: 1_000,
  bufferAgeMs: 15 * 60_000,
  queueLimit: 1_024,
  minUptimeMs: 5_000,
  restartDelayMs: 1_000,
  operationGraceMs: 3_000,
};

/** A client's view of the stream: replayed events, then live ones until `until`, close() or an error. */
export interface EventSubscription extends AsyncIterable<DockerEvent> {
  close(): void;
  /** Called once if the subscription is dropped (too slow, or the engine's stream failed). */
  onError(listener: (error: Error) => void): void;
}

export class SlowSubscriberError extends Error {
  constructor(limit: number) {
    super(`events: the client read too slowly (${limit} events waiting); dropped`);
    this.name = "SlowSubscriberError";
  }
}

class Subscriber {
  #queue: DockerEvent[] = [];
  #wake: (() => void) | undefined;
  #done = false;
  #error: Error | undefined;
  #onError: ((error: Error) => void)[] = [];
  onGone: () => void = () => {};

  constructor(
    readonly filters: Filters,
    readonly limit: number,
  ) {}

  get done(): boolean {
    return this.#done;
  }

  offer(event: DockerEvent): void {
    if (this.#done || !eventMatches(this.filters, event)) return;
    if (this.#queue.length >= this.limit) {
      this.fail(new SlowSubscriberError(this.limit));
      return;
    }
    this.#queue.push(event);
    this.#wake?.();
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#wake?.();
    this.onGone();
  }

  fail(error: Error): void {
    if (this.#done) return;
    this.#error = error;
    this.#queue = [];
    this.end();
    for (const listener of this.#onError) listener(error);
  }

  onError(listener: (error: Error) => void): void {
    if (this.#error) listener(this.#error);
    else this.#onError.push(listener);
  }

  async next(): Promise<DockerEvent | undefined> {
    for (;;) {
      const event = this.#queue.shift();
      if (event) return event;
      if (this.#error) throw this.#error;
      if (this.#done) return undefined;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

interface Source {
  nerdctl: Nerdctl;
  child: RunningCommand;
  abort: AbortController;
  translator: EventTranslator;
  startedAt: number;
  stopped: boolean;
}

interface RunningOperation {
  operation: ImageOperation;
  endedAt?: number;
}

/** One namespace: its buffer, subscribers and source. */
class Channel {
  readonly ring: DockerEvent[] = [];
  readonly subscribers = new Set<Subscriber>();
  source: Source | undefined;
  #stopTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();
  readonly #operations = new Set<RunningOperation>();

  constructor(
    readonly namespace: string,
    private readonly options: typeof DEFAULTS & { now: () => number; log?: (line: string) => void },
  ) {}

  add(subscriber: Subscriber, nerdctl: Nerdctl): void {
    this.subscribers.add(subscriber);
    subscriber.onGone = () => this.remove(subscriber);
    clearTimeout(this.#stopTimer);
    this.#stopTimer = undefined;
    if (!this.source && !this.#restartTimer) this.#start(nerdctl);
  }

  remove(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber) || this.subscribers.size > 0) return;
    clearTimeout(this.#stopTimer);
    this.#stopTimer = setTimeout(() => this.stop(), this.options.lingerMs);
    this.#stopTimer.unref?.();
  }

  stop(): void {
    clearTimeout(this.#stopTimer);
    clearTimeout(this.#restartTimer);
    this.#stopTimer = this.#restartTimer = undefined;
    const source = this.source;
    this.source = undefined;
    if (!source) return;
    source.stopped = true;
    source.abort.abort();
    source.child.kill();
  }

  /** Runs work after everything published before it, so events keep their order. */
  #serial(work: () => Promise<void> | void): Promise<void> {
    this.#chain = this.#chain.then(work).catch((error: unknown) => this.options.log?.(`events ${this.namespace}: ${String(error)}`));
    return this.#chain;
  }

  publish(event: DockerEvent): void {
    this.ring.push(event);
    this.prune();
    for (const subscriber of this.subscribers) subscriber.offer(event);
  }

  /** Drops what is beyond the buffer's size or age. */
  prune(): void {
    const oldest = nowNano(this.options.now() - this.options.bufferAgeMs);
    while (this.ring.length > this.options.bufferSize || (this.ring[0] && this.ring[0].timeNano < oldest)) this.ring.shift();
  }

  #start(nerdctl: Nerdctl): void {
    const abort = new AbortController();
    let child: RunningCommand;
    try {
      child = spawnEvents(nerdctl, abort.signal);
    } catch (error) {
      this.#failAll(new Error(`events: cannot start nerdctl events: ${String(error)}`));
      return;
    }
    const translator = new EventTranslator(
      { container: (id) => inspectContainerById(nerdctl, id), imageId: (record) => imageIdOf(nerdctl, record) },
      (record) => this.#operationFor(record),
    );
    const source: Source = { nerdctl, child, abort, translator, startedAt: Date.now(), stopped: false };
    this.source = source;
    // What exists already is read while the child starts; its events wait for it, in order.
    const loaded = eventSnapshot(nerdctl).then((snapshot) => translator.load(snapshot));
    void this.#serial(() => loaded);
    const pump = (async () => {
      for await (const line of readLines(child.stdout)) {
        if (source.stopped) break;
        const event = parseEventLine(line);
        if (!event || event.Namespace !== this.namespace) continue;
        await this.#serial(async () => {
          if (source.stopped) return;
          for (const translated of await translator.translate(event)) this.publish(translated);
        });
      }
    })();
    void Promise.allSettled([pump, child.exited]).then(([, exit]) => {
      this.#ended(source, exit.status === "fulfilled" ? exit.value : undefined);
    });
  }

  #ended(source: Source, exit: RunResult | undefined): void {
    if (source.stopped || this.source !== source) return;
    this.source = undefined;
    if (this.subscribers.size === 0) return;
    const why = `nerdctl events ended (exit ${exit?.exitCode ?? "unknown"})${exit?.stderr.trim() ? `: ${exit.stderr.trim().split("\n").at(-1)}` : ""}`;
    this.options.log?.(`events ${this.namespace}: ${why}`);
    if (Date.now() - source.startedAt < this.options.minUptimeMs) {
      this.#failAll(new Error(`events: ${why}`));
      return;
    }
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.subscribers.size > 0 && !this.source) this.#start(source.nerdctl);
    }, this.options.restartDelayMs);
  }

  #failAll(error: Error): void {
    for (const subscriber of [...this.subscribers]) subscriber.fail(error);
  }

  close(): void {
    for (const subscriber of [...this.subscribers]) subscriber.end();
    this.stop();
  }

  #operationFor(record: string): ImageOperation | undefined {
    const horizon = this.options.now() - this.options.operationGraceMs;
    for (const running of [...this.#operations]) {
      if (running.endedAt !== undefined && running.endedAt < horizon) this.#operations.delete(running);
    }
    const all = [...this.#operations].map((running) => running.operation);
    return all.find((operation) => operation.kind === "pull" && operation.reference === record) ?? all.find((operation) => operation.kind !== "pull");
  }

  /**
   * Before a command of the daemon's runs: a network about to be removed is
   * looked up first (one call, and only while someone listens), since its id
   * is gone with it and Docker's destroy event names the network by id.
   */
  async beforeCommand(observed: ObservedCommand, runner: CommandRunner): Promise<void> {
    const source = this.source;
    const unknown = source?.translator.unknownNetworks(observed) ?? [];
    if (!source || unknown.length === 0) return;
    const nerdctl = new Nerdctl(runner, observed.namespace ? { namespace: observed.namespace } : {});
    for (const [name, network] of await networkIdentities(nerdctl, unknown)) source.translator.networks.set(name, network);
  }

  /** A command of the daemon's starts in this namespace; returns what to do when it has finished. */
  commandStarted(observed: ObservedCommand): ((result: RunResult | undefined) => void) | undefined {
    if (!this.source) return undefined;
    const kind = imageOperationOf(observed);
    const running: RunningOperation | undefined = kind ? { operation: { ...kind, reported: new Set() } } : undefined;
    if (running) this.#operations.add(running);
    return (result) => {
      if (running) running.endedAt = this.options.now();
      const source = this.source;
      if (!source || result?.exitCode !== 0) return;
      void this.#serial(() => {
        for (const event of source.translator.eventsFromCommand(observed, result.stdout, nowNano(this.options.now()))) this.publish(event);
      });
    };
  }
}

export class EventHub {
  readonly #channels = new Map<string, Channel>();
  readonly #options: typeof DEFAULTS & { now: () => number; log?: (line: string) => void };
  #closed = false;

  constructor(options: EventHubOptions = {}) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
    this.#options = { ...DEFAULTS, now: Date.now, ...defined };
  }

  /** Live subscribers, all namespaces together (GET /info NEventsListener). */
  get listeners(): number {
    let count = 0;
    for (const channel of this.#channels.values()) count += channel.subscribers.size;
    return count;
  }

  /** Whether a namespace's `nerdctl events` is running (tests, diagnostics). */
  running(namespace: string = this.#options.defaultNamespace): boolean {
    return this.#channels.get(namespace)?.source !== undefined;
  }

  namespaceOf(nerdctl: Nerdctl): string {
    return nerdctl.options.namespace ?? this.#options.defaultNamespace;
  }

  #channel(namespace: string): Channel {
    let channel = this.#channels.get(namespace);
    if (!channel) {
      channel = new Channel(namespace, this.#options);
      this.#channels.set(namespace, channel);
    }
    return channel;
  }

  /**
   * dockerd's SubscribeTopic: with `since` or `until`, the buffered events in
   * that range first; then, unless `until` is past, live events until `until`.
   */
  subscribe(nerdctl: Nerdctl, query: EventQuery): EventSubscription {
    const channel = this.#channel(this.namespaceOf(nerdctl));
    channel.prune();
    const now = nowNano(this.#options.now());
    const { since, until, filters } = query;
    const buffered =
      since === undefined && until === undefined
        ? []
        : channel.ring.filter(
            (event) => (since === undefined || event.timeNano >= since) && (until === undefined || event.timeNano <= until) && eventMatches(filters, event),
          );
    const onlyPast = (until !== undefined && until < now) || this.#closed;
    const subscriber = new Subscriber(filters, this.#options.queueLimit);
    let timer: NodeJS.Timeout | undefined;
    if (onlyPast) {
      subscriber.end();
    } else {
      channel.add(subscriber, nerdctl);
      if (until !== undefined) {
        const delay = Number((until - now) / 1_000_000n);
        if (delay < 2 ** 31 - 1) timer = setTimeout(() => subscriber.end(), delay);
      }
    }
    const close = () => {
      clearTimeout(timer);
      subscriber.end();
    };
    return {
      close,
      onError: (listener) => subscriber.onError(listener),
      async *[Symbol.asyncIterator]() {
        try {
          yield* buffered;
          for (;;) {
            const event = await subscriber.next();
            if (!event) return;
            yield event;
          }
        } finally {
          close();
        }
      },
    };
  }

  /**
   * The daemon's runner, watched: an image-making command (pull, load, import)
   * names what it makes while it runs, and a successful volume, network or
   * kill/stop/restart command is an event (containerd has no topic for them).
   * Only namespaces someone listens to pay anything.
   */
  observe(runner: CommandRunner): CommandRunner {
    const watched = (command: Command) => {
      if (this.#channels.size === 0) return undefined;
      const observed = observeCommand(command);
      if (!observed || observed.verb.length === 0) return undefined;
      const channel = this.#channels.get(observed.namespace ?? this.#options.defaultNamespace);
      return channel?.source ? { channel, observed } : undefined;
    };
    const started = (command: Command) => {
      const found = watched(command);
      return found?.channel.commandStarted(found.observed);
    };
    return {
      async run(command: Command, options?: RunOptions): Promise<RunResult> {
        const found = watched(command);
        if (found) await found.channel.beforeCommand(found.observed, runner).catch(() => {});
        const finished = started(command);
        try {
          const result = await runner.run(command, options);
          finished?.(result);
          return result;
        } catch (error) {
          finished?.(undefined);
          throw error;
        }
      },
      spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
        const finished = started(command);
        const child = runner.spawn(command, options);
        if (finished) child.exited.then(finished, () => finished(undefined));
        return child;
      },
    };
  }

  /** Shutdown: every subscriber's stream ends, every source stops. */
  close(): void {
    this.#closed = true;
    for (const channel of this.#channels.values()) channel.close();
  }
}

/**
 * GET /events' response: one JSON document per line, pulled as the client
 * reads. Closed at once when the client goes away; aborted (the client sees
 * the connection end) when the subscription is dropped.
 */
export function eventsResponse(subscription: EventSubscription, event: H3Event): Response {
  const iterator = subscription[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  whenClientGone(clientGone(event), () => subscription.close());
  // dockerd sends the status and headers before any event (clients wait for them); Node holds them
  // until the first body bytes unless told. The first pull comes after the server wrote the head.
  const nodeResponse = (event.runtime as { node?: { res?: ServerResponse } } | undefined)?.node?.res;
  let flushed = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        subscription.onError((error) => {
          try {
            controller.error(error);
          } catch {
            // already closed
          }
        });
      },
      async pull(controller) {
        if (!flushed) {
          flushed = true;
          // headersSent is true once the head is written, sent or not; flushHeaders sends it if it was not.
          if (nodeResponse && !nodeResponse.destroyed) nodeResponse.flushHeaders();
        }
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(encoder.encode(encodeEvent(value)));
        } catch (error) {
          try {
            controller.error(error);
          } catch {
            // already errored
          }
        }
      },
      async cancel() {
        subscription.close();
        await iterator.return?.(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
}
