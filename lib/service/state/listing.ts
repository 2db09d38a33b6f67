import { Followed, type RecordsOptions } from "./followed.ts";

export interface ListingOptions extends RecordsOptions {
  /**
   * For a kind the engine publishes no events of (volumes, networks: files to
   * nerdctl), how long a listing answers before it is read again, so that a
   * change made outside nerdctld shows within that time. None for kinds the
   * event stream covers.
   */
  maxAgeMs?: number;
}

/**
 * One kind of a namespace's objects as one nerdctl listing gives them, kept
 * while the engine's event stream runs: read again at the first read after a
 * change (an engine event, or nerdctld's own change) or once it is older than
 * maxAgeMs. Reads that come while a listing runs wait for it, or for the next
 * one when they came after a change: a burst of changes costs one listing in
 * flight and one after it. Undefined while the kind is not kept (ask nerdctl).
 */
export class Listing<T> extends Followed {
  #value: T | undefined;
  #readAt = 0;
  #changes = 0;
  /** The changes the value reflects; -1 before the first listing. */
  #settled = -1;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly list: () => Promise<T>,
    private readonly listingOptions: ListingOptions,
  ) {
    super(listingOptions);
  }

  changed(): void {
    this.#changes += 1;
  }

  async current(): Promise<T | undefined> {
    if (!this.followed) return undefined;
    const now = this.options.now();
    const { maxAgeMs } = this.listingOptions;
    if (maxAgeMs !== undefined && this.#settled >= 0 && now - this.#readAt >= maxAgeMs) {
      // Once: the reads that come until the new listing is read wait for the same one.
      this.#readAt = now;
      this.changed();
    }
    const epoch = this.epoch;
    const wanted = this.#changes;
    try {
      while (this.#settled < wanted && epoch === this.epoch) {
        await (this.#loading ??= this.#load().finally(() => (this.#loading = undefined)));
      }
    } catch {
      return undefined;
    }
    return epoch === this.epoch ? this.#value : undefined;
  }

  /**
   * The value as last listed, whatever its age and without waiting for a
   * listing under way: for what no change can move. Undefined while the kind
   * is not kept or before its first listing.
   */
  latest(): T | undefined {
    return this.followed && this.#settled >= 0 ? this.#value : undefined;
  }

  protected forget(): void {
    this.#value = undefined;
    this.#settled = -1;
    this.#changes = 0;
    this.#loading = undefined;
  }

  async #load(): Promise<void> {
    const epoch = this.epoch;
    const through = this.#changes;
    const readAt = this.options.now();
    const value = await this.list();
    if (epoch !== this.epoch) return;
    this.#value = value;
    this.#readAt = readAt;
    this.#settled = through;
  }
}
