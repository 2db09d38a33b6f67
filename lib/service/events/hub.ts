import type { Nerdctl } from "../../nerdctl/client.ts";
import type { EventBus, NamespaceEvents } from "./bus.ts";
import { EventChannel, type ChannelOptions } from "./channel.ts";

export interface EventHubOptions extends Partial<ChannelOptions> {
  /** The namespace of requests that name none (the daemon's). */
  defaultNamespace?: string;
}

const DEFAULTS = {
  defaultNamespace: "default",
  bufferSize: 1_000,
  bufferAgeMs: 15 * 60_000,
  queueLimit: 1_024,
  minUptimeMs: 5_000,
  restartDelayMs: 1_000,
  maxRestartDelayMs: 60_000,
  operationGraceMs: 3_000,
};

/**
 * The daemon's events: per containerd namespace, one long-lived
 * `nerdctl events` shared by every client, and what nerdctld's services
 * announce. The daemon starts its own namespace's source with it (start());
 * another namespace's starts with its first reader. Sources run until close().
 */
export class EventHub implements EventBus {
  readonly #channels = new Map<string, EventChannel>();
  readonly #options: typeof DEFAULTS & ChannelOptions;
  #closed = false;

  /** `nerdctl` is the daemon's: its own namespace as it is, others through withNamespace. */
  constructor(
    private readonly nerdctl: Nerdctl,
    options: EventHubOptions = {},
  ) {
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
  running(namespace?: string): boolean {
    return this.#channels.get(namespace ?? this.#options.defaultNamespace)?.source.running ?? false;
  }

  /** Starts a namespace's source (the daemon's own when none is named); it runs until close(). */
  start(namespace?: string): void {
    this.#channel(namespace).source.ensureRunning();
  }

  in(namespace: string | undefined): NamespaceEvents {
    return this.#channel(namespace);
  }

  /** Shutdown: every subscriber's stream ends, every source stops. */
  close(): void {
    this.#closed = true;
    for (const channel of this.#channels.values()) channel.close();
  }

  #channel(namespace: string | undefined): EventChannel {
    const name = namespace ?? this.#options.defaultNamespace;
    let channel = this.#channels.get(name);
    if (!channel) {
      const own = name === (this.nerdctl.options.namespace ?? this.#options.defaultNamespace);
      channel = new EventChannel(name, own ? this.nerdctl : this.nerdctl.withNamespace(name), this.#options);
      this.#channels.set(name, channel);
      if (this.#closed) channel.close();
    }
    return channel;
  }
}
