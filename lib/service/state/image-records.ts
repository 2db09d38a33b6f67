import type { NerdctlNativeImage } from "../../nerdctl/image-types.ts";
import { inspectAllRecords } from "../../nerdctl/images.ts";
import type { Nerdctl } from "../../nerdctl/client.ts";
import type { RecordsOptions } from "./container-records.ts";

/**
 * A namespace's image records (nerdctl's native inspection of every one),
 * kept while the engine's event stream runs: read again in one call at the
 * first read after any image change. Reads that come while a read runs wait
 * for it, or for the one after it when they came after a change: a burst of
 * changes costs one call in flight and one after.
 */
export class ImageRecords {
  #records: NerdctlNativeImage[] | undefined;
  #streamStartedAt: number | undefined;
  #epoch = 0;
  #changes = 0;
  /** The changes the records reflect. */
  #settled = -1;
  #loading: Promise<void> | undefined;

  constructor(
    private readonly nerdctl: Nerdctl,
    private readonly options: RecordsOptions,
  ) {}

  streamStarted(): void {
    this.#reset();
    this.#streamStartedAt = this.options.now();
  }

  streamEnded(): void {
    this.#reset();
    this.#streamStartedAt = undefined;
  }

  changed(): void {
    this.#changes += 1;
  }

  /** Every record as it is now; undefined when images are not followed (ask nerdctl). */
  async all(): Promise<NerdctlNativeImage[] | undefined> {
    const startedAt = this.#streamStartedAt;
    if (startedAt === undefined || this.options.now() - startedAt < this.options.subscribeGraceMs) return undefined;
    const epoch = this.#epoch;
    const wanted = this.#changes;
    try {
      while (this.#settled < wanted && epoch === this.#epoch) {
        await (this.#loading ??= this.#load().finally(() => (this.#loading = undefined)));
      }
    } catch {
      return undefined;
    }
    return epoch === this.#epoch ? this.#records : undefined;
  }

  #reset(): void {
    this.#epoch += 1;
    this.#records = undefined;
    this.#settled = -1;
    this.#changes = 0;
    this.#loading = undefined;
  }

  async #load(): Promise<void> {
    const epoch = this.#epoch;
    const through = this.#changes;
    const records = await inspectAllRecords(this.nerdctl);
    if (epoch !== this.#epoch) return;
    this.#records = records;
    this.#settled = through;
  }
}
