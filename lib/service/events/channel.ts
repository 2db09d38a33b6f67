import { EventTranslator, type ImageOperation } from "../../docker/event-translator.ts";
import { eventMatches, nowNano, type DockerEvent, type EventQuery } from "../../docker/events.ts";
import type { ImageOperationStart, OperationEvent } from "../../docker/operation-events.ts";
import type { Nerdctl } from "../../nerdctl/client.ts";
import { imageIdOf, inspectContainerById } from "../../nerdctl/events.ts";
import type { EngineObserver, EventSubscription, NamespaceEvents } from "./bus.ts";
import { EngineEventSource, type SourceOptions } from "./source.ts";
import { Subscriber } from "./subscriber.ts";

export interface ChannelOptions extends SourceOptions {
  /** Events kept for `since`: at most this many… */
  bufferSize: number;
  /** …and none older than this. */
  bufferAgeMs: number;
  /** Events a subscriber may have waiting; one more and it is dropped. */
  queueLimit: number;
  /** How long an image-making operation still names what it made after it finished (its events come late). */
  operationGraceMs: number;
  /** The clock events are aged and `until` is measured by (tests replay recorded times). */
  now: () => number;
}

interface RunningOperation {
  operation: ImageOperation;
  endedAt?: number;
}

/**
 * One namespace's events: the engine's (its source, translated) and
 * nerdctld's own operations, in one order, kept in a bounded buffer for
 * `since` (dockerd replays from its own) and handed to its subscribers.
 */
export class EventChannel implements NamespaceEvents {
  readonly #ring: DockerEvent[] = [];
  readonly subscribers = new Set<Subscriber>();
  readonly #operations = new Set<RunningOperation>();
  readonly #observers = new Set<EngineObserver>();
  readonly #translator: EventTranslator;
  readonly source: EngineEventSource;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    readonly namespace: string,
    nerdctl: Nerdctl,
    private readonly options: ChannelOptions,
  ) {
    this.#translator = new EventTranslator(
      { container: (id) => inspectContainerById(nerdctl, id), imageId: (record) => imageIdOf(nerdctl, record) },
      (record) => this.#operationFor(record),
    );
    this.source = new EngineEventSource(
      namespace,
      nerdctl,
      this.#translator,
      {
        serial: (work) => this.#serial(work),
        publish: (event) => this.#publish(event),
        failed: (error) => {
          for (const subscriber of [...this.subscribers]) subscriber.fail(error);
        },
        started: () => this.#observers.forEach((observer) => observer.streamStarted()),
        event: (event) => this.#observers.forEach((observer) => observer.engineEvent(event)),
        ended: () => this.#observers.forEach((observer) => observer.streamEnded()),
      },
      options,
    );
  }

  emit(operation: OperationEvent): void {
    void this.#serial(() => {
      for (const event of this.#translator.fromOperation(operation, nowNano(this.options.now()))) this.#publish(event);
    });
  }

  imageOperation(operation: ImageOperationStart): () => void {
    const running: RunningOperation = { operation: { ...operation, reported: new Set() } };
    this.#operations.add(running);
    return () => (running.endedAt ??= this.options.now());
  }

  unknownNetworks(refs: readonly string[]): string[] {
    return this.subscribers.size > 0 ? this.#translator.unknownNetworks(refs) : [];
  }

  subscribe(query: EventQuery): EventSubscription {
    this.#prune();
    const now = nowNano(this.options.now());
    const { since, until, filters } = query;
    const buffered =
      since === undefined && until === undefined
        ? []
        : this.#ring.filter(
            (event) => (since === undefined || event.timeNano >= since) && (until === undefined || event.timeNano <= until) && eventMatches(filters, event),
          );
    const subscriber = new Subscriber(filters, this.options.queueLimit);
    let timer: NodeJS.Timeout | undefined;
    if ((until !== undefined && until < now) || this.#closed) {
      subscriber.end();
    } else {
      this.subscribers.add(subscriber);
      subscriber.onGone = () => this.subscribers.delete(subscriber);
      // The first reader of a namespace other than the daemon's starts its source; it then stays.
      this.source.ensureRunning();
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

  observeEngine(observer: EngineObserver): void {
    if (this.#observers.has(observer)) return;
    this.#observers.add(observer);
    if (this.#closed) return;
    // A stream already running is, to a new observer, one that starts now.
    if (this.source.running) observer.streamStarted();
    else this.source.ensureRunning();
  }

  /** Shutdown: every subscriber's stream ends, the source stops. */
  close(): void {
    this.#closed = true;
    for (const subscriber of [...this.subscribers]) subscriber.end();
    this.source.stop();
  }

  #serial(work: () => Promise<void> | void): Promise<void> {
    this.#chain = this.#chain.then(work).catch((error: unknown) => this.options.log?.(`events ${this.namespace}: ${String(error)}`));
    return this.#chain;
  }

  #publish(event: DockerEvent): void {
    this.#ring.push(event);
    this.#prune();
    for (const subscriber of this.subscribers) subscriber.offer(event);
  }

  /** Drops what is beyond the buffer's size or age. */
  #prune(): void {
    const oldest = nowNano(this.options.now() - this.options.bufferAgeMs);
    while (this.#ring.length > this.options.bufferSize || (this.#ring[0] && this.#ring[0].timeNano < oldest)) this.#ring.shift();
  }

  #operationFor(record: string): ImageOperation | undefined {
    const horizon = this.options.now() - this.options.operationGraceMs;
    for (const running of [...this.#operations]) {
      if (running.endedAt !== undefined && running.endedAt < horizon) this.#operations.delete(running);
    }
    const all = [...this.#operations].map((running) => running.operation);
    return all.find((operation) => operation.kind === "pull" && operation.reference === record) ?? all.find((operation) => operation.kind !== "pull");
  }
}
