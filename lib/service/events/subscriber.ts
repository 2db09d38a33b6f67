import { eventMatches, type DockerEvent } from "../../docker/events.ts";
import type { Filters } from "../../docker/filters.ts";

export class SlowSubscriberError extends Error {
  constructor(limit: number) {
    super(`events: the client read too slowly (${limit} events waiting); dropped`);
    this.name = "SlowSubscriberError";
  }
}

/**
 * One client's queue of live events, bounded: a client that reads too slowly
 * is dropped with an error, never buffered for without end.
 */
export class Subscriber {
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
