import type { Nerdctl } from "../nerdctl/client.ts";
import { removeImages } from "../nerdctl/transfer.ts";

/*
 * nerdctl push sends the host's platform of an image as a record of its own,
 * `<name>-tmp-reduced-platform`, that it makes first and deletes when it
 * returns. Killed (its client left), it never returns: the record stays and
 * lists as an image nobody made. It is removed once no push of the same name
 * runs in this daemon (they share the record), and a push of that name waits
 * for the removal before it starts, so it never loses a record it just made.
 */

/** What nerdctl appends to the name of the record it pushes. */
const REDUCED_PLATFORM_SUFFIX = "-tmp-reduced-platform";

interface NamePushes {
  running: number;
  killed: boolean;
}

/** The records of killed pushes, removed once no push of their name runs. */
export class PushLeftovers {
  readonly #pushes = new Map<string, NamePushes>();
  readonly #removals = new Map<string, Promise<void>>();
  readonly #log: (message: string) => void;

  constructor(options: { log?: (message: string) => void } = {}) {
    this.#log = options.log ?? (() => {});
  }

  /**
   * A push of name (as containerd spells it) in nerdctl's namespace is about to
   * start: resolves when it may, to what to call once its child has exited.
   */
  async starting(nerdctl: Nerdctl, name: string): Promise<(killed: boolean) => Promise<void>> {
    const key = `${nerdctl.options.namespace ?? ""}\0${name}`;
    await this.#removals.get(key);
    let pushes = this.#pushes.get(key);
    if (!pushes) {
      pushes = { running: 0, killed: false };
      this.#pushes.set(key, pushes);
    }
    pushes.running += 1;
    let ended = false;
    return async (killed) => {
      if (ended) return;
      ended = true;
      pushes.running -= 1;
      pushes.killed ||= killed;
      if (pushes.running > 0) return;
      this.#pushes.delete(key);
      if (!pushes.killed) return;
      const record = `${name}${REDUCED_PLATFORM_SUFFIX}`;
      // The daemon's own work, not the request's that started the push.
      const removal = removeImages(nerdctl.forRequest(undefined), [record])
        .catch((error: unknown) => this.#log(`removing ${record}, left by a killed nerdctl push: ${(error as Error).message.split("\n")[0]}`))
        .finally(() => this.#removals.delete(key));
      this.#removals.set(key, removal);
      await removal;
    };
  }
}
