import type { NerdctlImageIdentity } from "../../nerdctl/container-types.ts";
import { imageIdentities } from "../../nerdctl/containers.ts";
import type { Nerdctl } from "../../nerdctl/client.ts";

/**
 * The images containers were made from (id, entrypoint, …) by the reference
 * each container names, kept while the engine's event stream runs and
 * forgotten at every image change: a tag, a pull or a removal may move a
 * reference to another image. References not known yet are read in one call.
 */
export class ImageIdentities {
  readonly #known = new Map<string, NerdctlImageIdentity | null>();
  #following = false;
  #epoch = 0;

  constructor(private readonly nerdctl: Nerdctl) {}

  streamStarted(): void {
    this.changed();
    this.#following = true;
  }

  streamEnded(): void {
    this.changed();
    this.#following = false;
  }

  /** Images changed: nothing known holds any more. */
  changed(): void {
    this.#epoch += 1;
    this.#known.clear();
  }

  async of(references: string[]): Promise<Map<string, NerdctlImageIdentity>> {
    if (!this.#following) return imageIdentities(this.nerdctl, references);
    const epoch = this.#epoch;
    const identities = new Map<string, NerdctlImageIdentity>();
    const missing: string[] = [];
    for (const reference of new Set(references)) {
      const known = this.#known.get(reference);
      if (known === undefined) missing.push(reference);
      else if (known) identities.set(reference, known);
    }
    if (missing.length === 0) return identities;
    const found = await imageIdentities(this.nerdctl, missing);
    for (const reference of missing) {
      const identity = found.get(reference);
      if (identity) identities.set(reference, identity);
      // Read before an image changed: good for this answer, not for the next.
      if (epoch === this.#epoch) this.#known.set(reference, identity ?? null);
    }
    return identities;
  }
}
