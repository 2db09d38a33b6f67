import type { Nerdctl } from "../../nerdctl/client.ts";
import type { EventBus } from "../events/bus.ts";
import type { RecordsOptions } from "./followed.ts";
import { NamespaceState } from "./namespace-state.ts";

const DEFAULTS: RecordsOptions = { subscribeGraceMs: 500, now: Date.now };

/** The daemon's state, one NamespaceState per containerd namespace, each following its namespace's engine events. */
export class StateHub {
  readonly #states = new Map<string, NamespaceState>();
  readonly #options: RecordsOptions;

  /** `nerdctl` is the daemon's: its own namespace as it is, others through withNamespace. */
  constructor(
    private readonly nerdctl: Nerdctl,
    private readonly events: EventBus,
    private readonly defaultNamespace: string,
    options: Partial<RecordsOptions> = {},
  ) {
    this.#options = { ...DEFAULTS, ...options };
  }

  /** A namespace's state; the first ask starts following the namespace. */
  in(namespace: string | undefined): NamespaceState {
    const name = namespace ?? this.defaultNamespace;
    let state = this.#states.get(name);
    if (!state) {
      const own = name === (this.nerdctl.options.namespace ?? this.defaultNamespace);
      state = new NamespaceState(own ? this.nerdctl : this.nerdctl.withNamespace(name), this.#options);
      this.#states.set(name, state);
      this.events.in(name).observeEngine(state);
    }
    return state;
  }
}
