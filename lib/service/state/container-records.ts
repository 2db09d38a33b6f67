import type { NerdctlContainerInspect } from "../../nerdctl/container-types.ts";
import { allContainers, inspectContainers } from "../../nerdctl/containers.ts";
import type { Nerdctl } from "../../nerdctl/client.ts";
import { Followed, type RecordsOptions } from "./followed.ts";


/**
 * A namespace's containers as `nerdctl container inspect` shows them, kept
 * current while the engine's event stream runs: read once with one listing,
 * then each container an event (or nerdctld itself) names is marked, and the
 * next read first inspects every marked container in one call. A read waits
 * only for the marks made before it; a burst of marks costs one call in
 * flight, and the next one takes whatever came meanwhile. With no stream the
 * records are not kept, and callers ask nerdctl (`undefined`).
 */
/** How long a container found gone is remembered as such: longer than its events take to arrive. */
const GONE_KEPT_MS = 60_000;

export class ContainerRecords extends Followed {
  readonly #records = new Map<string, NerdctlContainerInspect>();
  readonly #marked = new Set<string>();
  /** When the read of each container's record began: a change from before then is in it. */
  readonly #readAt = new Map<string, number>();
  /** When the reads in flight began, by container. */
  readonly #readingSince = new Map<string, number>();
  /** Reads begun (the listing, then inspections; one at a time). */
  #readsBegun = 0;
  /**
   * Containers nerdctld removed since the last read began, with how many reads
   * had begun: a read running then may have seen one before it went, and must
   * not bring it back (its mark went with it).
   */
  readonly #removedDuring = new Map<string, number>();
  /** Marks made, and how many of them the records reflect. */
  #marks = 0;
  #settled = 0;
  #loaded = false;
  #loading: Promise<void> | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(
    private readonly nerdctl: Nerdctl,
    options: RecordsOptions,
  ) {
    super(options);
  }

  /**
   * A container changed (an engine event named it, or nerdctld changed it):
   * the next read inspects it again, unless a read begun after the change
   * (`changedAt`, an event's time) has it already. nerdctld's own changes
   * come back as events after it has read them.
   */
  mark(id: string, changedAt?: number): void {
    const readSince = Math.max(this.#readAt.get(id) ?? -Infinity, this.#readingSince.get(id) ?? -Infinity);
    if (changedAt !== undefined && readSince >= changedAt) return;
    this.#marked.add(id);
    this.#marks += 1;
  }

  /** nerdctld removed the container: gone from the records at once, and its engine events, still on the way, change nothing. */
  gone(id: string): void {
    this.#removedDuring.set(id, this.#readsBegun);
    this.#records.delete(id);
    this.#marked.delete(id);
    this.#readAt.set(id, this.options.now());
  }

  /** Every container as it is now; undefined when they are not followed (ask nerdctl). */
  async all(): Promise<NerdctlContainerInspect[] | undefined> {
    try {
      if (!(await this.#ready())) return undefined;
      const epoch = this.epoch;
      const wanted = this.#marks;
      while (this.#settled < wanted && epoch === this.epoch) {
        await (this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined)));
      }
      return epoch === this.epoch ? [...this.#records.values()] : undefined;
    } catch {
      // nerdctl could not read them: the caller asks it itself, and reports what it says.
      return undefined;
    }
  }

  /**
   * The container a client named, resolved as nerdctl resolves it (a full id,
   * a name, or an id prefix); undefined when that takes nerdctl: it is not
   * known here, several match, or containers are not followed.
   */
  async find(ref: string): Promise<NerdctlContainerInspect | undefined> {
    const all = await this.all();
    if (!all) return undefined;
    const byId = all.find((container) => container.Id === ref);
    if (byId) return byId;
    const name = ref.replace(/^\//, "");
    const matches = all.filter((container) => nameOf(container) === name || (/^[0-9a-f]+$/.test(ref) && container.Id.startsWith(ref)));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /**
   * A read begins (the one before has ended: they run one at a time, so
   * removals from before cannot be in what this one reads); `removed` holds
   * the containers nerdctld removes while it runs.
   */
  #beginRead(): { removed: { has(id: string): boolean } } {
    this.#removedDuring.clear();
    const number = ++this.#readsBegun;
    return { removed: { has: (id) => (this.#removedDuring.get(id) ?? 0) >= number } };
  }

  protected forget(): void {
    this.#records.clear();
    this.#marked.clear();
    this.#readAt.clear();
    this.#readingSince.clear();
    this.#removedDuring.clear();
    this.#marks = 0;
    this.#settled = 0;
    this.#loaded = false;
    this.#loading = undefined;
    this.#refreshing = undefined;
  }

  async #ready(): Promise<boolean> {
    if (this.#loaded) return true;
    if (!this.followed) return false;
    await (this.#loading ??= this.#load());
    return this.#loaded;
  }

  async #load(): Promise<void> {
    const epoch = this.epoch;
    // The listing covers marks made before it; those made while it runs stay for the next read.
    this.#marked.clear();
    const through = this.#marks;
    const readAt = this.options.now();
    const read = this.#beginRead();
    const listed = await allContainers(this.nerdctl).catch((error: unknown) => {
      if (epoch === this.epoch) this.#loading = undefined;
      throw error;
    });
    if (epoch !== this.epoch) return;
    for (const container of listed) {
      if (read.removed.has(container.Id)) continue;
      this.#records.set(container.Id, container);
      this.#readAt.set(container.Id, readAt);
    }
    this.#settled = through;
    this.#loaded = true;
  }

  async #refresh(): Promise<void> {
    const epoch = this.epoch;
    const through = this.#marks;
    const ids = [...this.#marked];
    this.#marked.clear();
    const readAt = this.options.now();
    for (const id of ids) this.#readingSince.set(id, readAt);
    const read = this.#beginRead();
    let found: NerdctlContainerInspect[];
    try {
      found = await inspectContainers(this.nerdctl, ids);
    } catch (error) {
      if (epoch === this.epoch) for (const id of ids) this.#marked.add(id);
      throw error;
    } finally {
      if (epoch === this.epoch) for (const id of ids) if (this.#readingSince.get(id) === readAt) this.#readingSince.delete(id);
    }
    if (epoch !== this.epoch) return;
    // Those not found are gone; when they were read stays a while, for their engine events still on the way.
    const current = ids.filter((id) => !read.removed.has(id));
    for (const id of current) {
      this.#records.delete(id);
      this.#readAt.set(id, readAt);
    }
    for (const container of found) if (!read.removed.has(container.Id)) this.#records.set(container.Id, container);
    for (const [id, at] of this.#readAt) if (!this.#records.has(id) && at < readAt - GONE_KEPT_MS) this.#readAt.delete(id);
    this.#settled = Math.max(this.#settled, through);
  }
}

function nameOf(container: NerdctlContainerInspect): string {
  return (container.Name ?? "").replace(/^\//, "");
}
