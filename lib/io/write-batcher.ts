import type { Writable } from "node:stream";

/** How much a batch of writes gathers at most, and for how long. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_MS = 5;

/**
 * Gathers writes to a stream, up to BATCH_BYTES or BATCH_MS, so that they
 * leave as one vectored write: pipe and socket reads come 16–64 KiB at a
 * time, and each write on its own costs a system call, a wake-up of the
 * reader and a completion callback.
 */
export class WriteBatcher {
  readonly #target: Writable;
  #batched = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(target: Writable) {
    this.#target = target;
  }

  /** Writes chunk into the current batch; false when target wants no more until it drains. */
  write(chunk: Buffer): boolean {
    if (this.#batched === 0) {
      this.#target.cork();
      this.#timer = setTimeout(() => this.flush(), BATCH_MS);
    }
    const more = this.#target.write(chunk);
    this.#batched += chunk.length;
    if (this.#batched >= BATCH_BYTES) this.flush();
    return more;
  }

  flush(): void {
    if (this.#batched === 0) return;
    clearTimeout(this.#timer);
    this.#batched = 0;
    this.#target.uncork();
  }
}
