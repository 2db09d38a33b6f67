import type { CgroupSample } from "../host/cgroups.ts";

/** dockerd samples once a second. */
export const INTERVAL_MS = 1000;

type Read = () => Promise<CgroupSample | undefined>;

/** A client's view of a shared sampler: the newest sample at once, then one per tick. */
export interface SamplerSeat {
  /** The newest sample (read now when there is none yet). */
  first(): Promise<CgroupSample | undefined>;
  /** The sample of the next tick. */
  next(): Promise<CgroupSample | undefined>;
  leave(): void;
}

/**
 * One sampler per container whose stats are streamed, shared by every client
 * streaming them: a second client adds no reads of the container's cgroup.
 * The sampler ticks once a second while someone is seated, and stops with
 * the last one to leave.
 */
export class StatsSamplers {
  readonly #samplers = new Map<string, SharedSampler>();

  /** A seat at the sampler of `key` (a container in a namespace); `read` takes a sample when the sampler starts. */
  join(key: string, read: Read): SamplerSeat {
    let sampler = this.#samplers.get(key);
    if (!sampler) {
      sampler = new SharedSampler(read, () => this.#samplers.delete(key));
      this.#samplers.set(key, sampler);
    }
    return sampler.seat();
  }

  /** Samplers running now (tests, diagnostics). */
  get size(): number {
    return this.#samplers.size;
  }
}

class SharedSampler {
  #seated = 0;
  #latest: Promise<CgroupSample | undefined> | undefined;
  #waiting: ((sample: Promise<CgroupSample | undefined>) => void)[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly read: Read,
    private readonly stopped: () => void,
  ) {
    this.#timer = setInterval(() => this.#tick(), INTERVAL_MS);
  }

  seat(): SamplerSeat {
    this.#seated += 1;
    let left = false;
    return {
      first: () => (this.#latest ??= this.#sample()),
      next: () => new Promise((resolve) => this.#waiting.push(resolve)).then((sample) => sample as Promise<CgroupSample | undefined>),
      leave: () => {
        if (left) return;
        left = true;
        this.#seated -= 1;
        if (this.#seated === 0) {
          clearInterval(this.#timer);
          this.stopped();
        }
      },
    };
  }

  #tick(): void {
    const sample = (this.#latest = this.#sample());
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve(sample);
  }

  #sample(): Promise<CgroupSample | undefined> {
    // A failed read is a container gone: its stream ends, as with no sample.
    return this.read().catch(() => undefined);
  }
}
