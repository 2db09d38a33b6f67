import type { Writable } from "node:stream";

/** How much a batch of writes gathers at most, and for how long when it waits on a timer. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_MS = 5;

/**
 * When a batch leaves, besides when it is full: after BATCH_MS ("window", for
 * bulk transfers, where a few ms are nothing), or at the end of the event
 * loop's current turn ("turn": the writes of one round of reads, and no
 * later, for a stream someone may be waiting on byte by byte).
 */
export type BatchWindow = "window" | "turn";

/**
 * Gathers writes to a stream, up to BATCH_BYTES or until the batch's window
 * closes, so that they leave as one vectored write: pipe and socket reads
 * come 16–64 KiB at a time, and each write on its own costs a system call, a
 * wake-up of the reader and a completion callback.
 */
export class WriteBatcher {
  readonly #target: Writable;
  readonly #window: BatchWindow;
  #batched = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;

  constructor(target: Writable, window: BatchWindow = "window") {
    this.#target = target;
    this.#window = window;
  }

  /** Writes chunk into the current batch; false when target wants no more until it drains. */
  write(chunk: Buffer): boolean {
    if (this.#batched === 0) {
      this.#target.cork();
      this.#timer = this.#window === "turn" ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), BATCH_MS);
    }
    const more = this.#target.write(chunk);
    // An empty chunk still opens a batch: it is closed by the timer like any other.
    this.#batched += Math.max(chunk.length, 1);
    if (this.#batched >= BATCH_BYTES) this.flush();
    return more;
  }

  flush(): void {
    if (this.#batched === 0) return;
    if (this.#window === "turn") clearImmediate(this.#timer as NodeJS.Immediate);
    else clearTimeout(this.#timer as NodeJS.Timeout);
    this.#batched = 0;
    this.#target.uncork();
  }
}
