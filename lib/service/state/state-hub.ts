import type { Nerdctl } from "../../nerdctl/client.ts";
import { networkDirectories, volumeDirectory, type NerdctlFiles } from "../../nerdctl/files.ts";
import type { EventBus } from "../events/bus.ts";
import type { RecordsOptions } from "./followed.ts";
import { FILE_OBJECTS_MAX_AGE_MS, NamespaceState, type ObjectDirectories } from "./namespace-state.ts";

const DEFAULTS: RecordsOptions = { subscribeGraceMs: 500, now: Date.now };

export interface StateHubOptions extends Partial<RecordsOptions> {
  /** Where nerdctl keeps volumes and networks, to watch; undefined: not known (listings answer for a second). */
  files?: NerdctlFiles;
  log?: (message: string) => void;
}

/** The daemon's state, one NamespaceState per containerd namespace, each following its namespace's engine events. */
export class StateHub {
  readonly #states = new Map<string, NamespaceState>();
  readonly #options: RecordsOptions;
  readonly #files: NerdctlFiles | undefined;
  readonly #log: (message: string) => void;

  /** `nerdctl` is the daemon's: its own namespace as it is, others through withNamespace. */
  constructor(
    private readonly nerdctl: Nerdctl,
    private readonly events: EventBus,
    private readonly defaultNamespace: string,
    { files, log = () => {}, ...options }: StateHubOptions = {},
  ) {
    this.#options = { ...DEFAULTS, ...options };
    this.#files = files;
    this.#log = log;
    if (!files) log(`volumes and networks changed outside nerdctld show within ${FILE_OBJECTS_MAX_AGE_MS} ms: where nerdctl keeps them is not known (rootless)`);
  }

  /** A namespace's state; the first ask starts following the namespace. */
  in(namespace: string | undefined): NamespaceState {
    const name = namespace ?? this.defaultNamespace;
    let state = this.#states.get(name);
    if (!state) {
      const own = name === (this.nerdctl.options.namespace ?? this.defaultNamespace);
      state = new NamespaceState(own ? this.nerdctl : this.nerdctl.withNamespace(name), this.#options, this.#directories(own ? this.nerdctl.options.namespace : name));
      this.#states.set(name, state);
      this.events.in(name).observeEngine(state);
    }
    return state;
  }

  /** `namespace` undefined: the one nerdctl uses when given none. */
  #directories(namespace: string | undefined): ObjectDirectories | undefined {
    const files = this.#files;
    if (!files) return undefined;
    const name = namespace ?? files.namespace;
    return {
      volumes: () => [volumeDirectory(files, name)],
      networks: () => networkDirectories(files, name),
      log: (kind, reason) => this.#log(`${kind} of namespace ${name} are not watched (${reason}): changed outside nerdctld, they show within ${FILE_OBJECTS_MAX_AGE_MS} ms`),
    };
  }
}
