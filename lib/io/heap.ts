import { setFlagsFromString } from "node:v8";

/**
 * Heap headroom for bulk transfers: while one runs, V8 lets the old
 * generation grow to four times its live size before a full collection,
 * instead of the factor it derives as it goes.
 *
 * Why: a `docker save` or `docker load` moves a GiB through the daemon in
 * some 16,000 freshly allocated read buffers. Under that allocation rate V8
 * settles on a limit only one young generation above the live heap (seen:
 * 11 MB live, 27 MB limit, 16 MB young generation) and starts a full
 * collection every ~30 MB moved: 30–45 per GiB, a quarter of the daemon's
 * CPU, taken from the cores nerdctl and containerd need. With the fixed
 * factor there is at most one. The price, tens of MiB of heap between
 * collections, is paid only while a transfer runs: V8 reads the factor each
 * time it sets a new limit, so the next collection after the last transfer
 * goes back to V8's own.
 */
let transfers = 0;

/** Marks a transfer as running; call the returned function (once) when it ends. */
export function heapHeadroomDuringTransfer(): () => void {
  if (transfers++ === 0) setFlagsFromString("--heap-growing-percent=300");
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--transfers === 0) setFlagsFromString("--heap-growing-percent=0");
  };
}

/** How long a stream may be quiet before its headroom is given back. */
const QUIET_MS = 1000;

/**
 * Headroom for a stream that may stay open for hours but is busy only at
 * times (an exec's output, a terminal session): taken while bytes flow,
 * given back once the stream has been quiet for a second, and at its end.
 */
export class FlowHeadroom {
  #release: (() => void) | undefined;
  #lastFlow = 0;
  #timer: NodeJS.Timeout | undefined;

  /** Bytes went by. */
  flowing(): void {
    this.#lastFlow = Date.now();
    if (this.#release) return;
    this.#release = heapHeadroomDuringTransfer();
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastFlow >= QUIET_MS) this.end();
    }, QUIET_MS).unref();
  }

  /** The stream ended (or went quiet): the headroom is given back until bytes flow again. */
  end(): void {
    clearInterval(this.#timer);
    this.#release?.();
    this.#release = undefined;
  }
}
