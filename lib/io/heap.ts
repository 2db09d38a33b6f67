import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

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

/** How long no request has been answered before the daemon counts as idle. */
const IDLE_MS = 5000;
/** Between the collections of one idle spell: V8 measures its allocation rate from one to the next. */
const COLLECTION_SPACING_MS = 2000;
/** Collections per idle spell: by the third, V8 has seen the low rate and shrunk. */
const COLLECTIONS = 4;

/**
 * Memory given back once the daemon falls idle after work. Under load V8
 * grows its young generation to its largest (two 16 MiB semi-spaces) and
 * keeps it: it shrinks it only in a full collection at a low allocation
 * rate, and an idle Node runs none (V8's idle-time work needs idle tasks,
 * which Node's platform does not run). Seen: 30–50 MiB of RSS held for
 * good after a burst of streams. So once no request has been answered for
 * IDLE_MS, a few full collections run, COLLECTION_SPACING_MS apart (a few
 * milliseconds each on the daemon's heap), and V8 gives those pages back;
 * any request answered meanwhile starts the wait again, and none runs while
 * a transfer does. After the last, `release` hands malloc's free pages back
 * too (the buffers of the burst, freed, stay in glibc's heap otherwise).
 */
export class IdleCollection {
  readonly #collect: () => void;
  readonly #release: () => void;
  #lastActivity = 0;
  #collections = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { collect?: () => void; release?: () => void } = {}) {
    this.#collect = options.collect ?? fullCollection();
    this.#release = options.release ?? (() => {});
  }

  /** A request was answered. */
  activity(): void {
    this.#lastActivity = Date.now();
    this.#collections = 0;
    this.#timer ??= this.#wake(IDLE_MS);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #wake(delayMs: number): NodeJS.Timeout {
    return setTimeout(() => this.#tick(), delayMs).unref();
  }

  #tick(): void {
    this.#timer = undefined;
    const quietMs = Date.now() - this.#lastActivity;
    if (quietMs < IDLE_MS || transfers > 0) {
      // A transfer is work too, however long since a request was last answered.
      this.#timer = this.#wake(transfers > 0 ? IDLE_MS : IDLE_MS - quietMs);
      return;
    }
    this.#collect();
    if (++this.#collections < COLLECTIONS) this.#timer = this.#wake(COLLECTION_SPACING_MS);
    else this.#release();
  }
}

/** V8's full collection, as `--expose-gc` offers it (set here: the flag applies to contexts made after it). */
function fullCollection(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}
