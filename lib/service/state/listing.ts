import { DirectoryWatch } from "./directory-watch.ts";
import { Followed, type RecordsOptions } from "./followed.ts";

export interface ListingOptions extends RecordsOptions {
  /**
   * For a kind the engine publishes no events of (volumes, networks: files to
   * nerdctl) and whose directories are not watched, how long a listing
   * answers before it is read again, so that a change made outside nerdctld
   * shows within that time. None for kinds the event stream covers.
   */
  maxAgeMs?: number;
}

/** The directories a kind's objects are entries of, for a kind the engine publishes no events of. */
export interface ListingDirectories<T> {
  directories: () => readonly string[];
  /** The files (or directories) a listing names its objects by, each an entry of one of the directories. */
  entries: (value: T) => readonly string[];
  /** Told, once, why the directories are not watched after all. */
  log: (reason: string) => void;
}

/**
 * One kind of a namespace's objects as one nerdctl listing gives them, kept
 * while the engine's event stream runs: read again at the first read after a
 * change (an engine event, nerdctld's own change, a change in the watched
 * directories) or, without a watch, once it is older than maxAgeMs. Reads
 * that come while a listing runs wait for it, or for the next one when they
 * came after a change: a burst of changes costs one listing in flight and one
 * after it. A change in the watched directories also starts that listing at
 * once, so that the next read finds it done or under way. Undefined while
 * the kind is not kept (ask nerdctl).
 */
export class Listing<T> extends Followed {
  #value: T | undefined;
  #readAt = 0;
  #changes = 0;
  /** The changes the value reflects; -1 before the first listing. */
  #settled = -1;
  #loading: Promise<void> | undefined;
  readonly #watch: DirectoryWatch | undefined;
  readonly #entries: ((value: T) => readonly string[]) | undefined;
  #refreshing = false;

  constructor(
    private readonly list: () => Promise<T>,
    private readonly listingOptions: ListingOptions,
    watched?: ListingDirectories<T>,
  ) {
    super(listingOptions);
    this.#watch = watched && new DirectoryWatch(watched.directories, () => this.#watchedChange(), watched.log);
    this.#entries = watched?.entries;
  }

  /** Whether changes in the directories are being followed (else maxAgeMs bounds the listing's age). */
  get watching(): boolean {
    return this.#watch?.watching ?? false;
  }

  changed(): void {
    this.#changes += 1;
  }

  async current(): Promise<T | undefined> {
    if (!this.followed) return undefined;
    const now = this.options.now();
    const { maxAgeMs } = this.listingOptions;
    if (maxAgeMs !== undefined && !this.watching && this.#settled >= 0 && now - this.#readAt >= maxAgeMs) {
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

  /** Stale at once; the changes of one moment (a write is several events) start one listing. */
  #watchedChange(): void {
    this.changed();
    if (this.#refreshing) return;
    this.#refreshing = true;
    setImmediate(() => {
      this.#refreshing = false;
      if (this.#settled >= 0) void this.current();
    });
  }

  async #load(): Promise<void> {
    const epoch = this.epoch;
    const through = this.#changes;
    const readAt = this.options.now();
    this.#watch?.start(false);
    const value = await this.list();
    if (epoch !== this.epoch) return;
    if (this.#watch && !this.watching) {
      // nerdctl makes its directories at its first listing: watched from now, what changed since that listing is not known.
      this.#watch.start(true);
      if (this.watching) this.changed();
    }
    if (this.#entries) this.#watch?.confirm(this.#entries(value));
    this.#value = value;
    this.#readAt = readAt;
    this.#settled = through;
  }
}
