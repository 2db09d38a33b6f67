import type { Nerdctl } from "../nerdctl/client.ts";
import { listLeases, removeLeases, type Lease } from "../nerdctl/leases.ts";

/*
 * A nerdctl pull, load or import holds a containerd lease on what it has
 * fetched so far, and releases it when it returns. Killed (its client left),
 * it never returns: the lease stays for its day of expiry, and with it the
 * half-fetched content (a cut load's ingest, tens of MB). dockerd cancels and
 * releases; so does this, by removing what the killed child left.
 *
 * Which lease was the child's, containerd does not say. It is one that
 * containerd's client made with no label but its expiry (`WithLease`'s
 * default), created while the child ran, and still there once the short
 * calls that make such leases too (a create, a commit) have long ended. A
 * window is swept only when no transfer of this daemon that started before
 * its end still runs in the namespace: such a child's live lease would
 * match as well. What it cannot tell apart is a pull of another client of
 * the engine (plain nerdctl, the kubelet) begun inside the window and still
 * running 30 s after it: that pull may then lose what it fetched and fail,
 * to be tried again.
 */

/** The one label containerd's client puts on the leases it makes by default. */
const EXPIRY_LABEL = "containerd.io/gc.expire";
/** How long after the kill the window is swept: other calls' leases of that moment have ended by then. */
const SETTLE_MS = 30_000;
/**
 * The least of it: containerd dates leases to the second, and a transfer that
 * starts once the sweep has begun must not make one in a window's last second.
 */
const MIN_SETTLE_MS = 2000;

export interface AbandonedLeasesOptions {
  settleMs?: number;
  now?: () => number;
  /** Told what was removed, and sweeps that failed. */
  log?: (message: string) => void;
}

/** What the owner of a lease-taking child says when it has exited. */
export type LeaseHolding = (killed: boolean) => void;

interface Transfer {
  startedMs: number;
}

interface Window {
  startedMs: number;
  endedMs: number;
}

interface NamespaceSweep {
  nerdctl: Nerdctl;
  running: Set<Transfer>;
  pending: Window[];
  timer?: NodeJS.Timeout;
  sweeping: boolean;
}

/** The leases of the killed transfer children of every namespace, removed once they are surely theirs. */
export class AbandonedLeases {
  readonly #settleMs: number;
  readonly #now: () => number;
  readonly #log: (message: string) => void;
  readonly #namespaces = new Map<string, NamespaceSweep>();

  constructor(options: AbandonedLeasesOptions = {}) {
    this.#settleMs = Math.max(options.settleMs ?? SETTLE_MS, MIN_SETTLE_MS);
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
  }

  /** A lease-taking child is about to start in nerdctl's namespace; call the result once when it has exited. */
  holding(nerdctl: Nerdctl): LeaseHolding {
    const key = nerdctl.options.namespace ?? "";
    let sweep = this.#namespaces.get(key);
    if (!sweep) {
      // The daemon's own work, not the request's that started the child.
      sweep = { nerdctl: nerdctl.forRequest(undefined), running: new Set(), pending: [], sweeping: false };
      this.#namespaces.set(key, sweep);
    }
    const transfer: Transfer = { startedMs: this.#now() };
    sweep.running.add(transfer);
    let ended = false;
    return (killed) => {
      if (ended) return;
      ended = true;
      sweep.running.delete(transfer);
      if (killed) sweep.pending.push({ startedMs: transfer.startedMs, endedMs: this.#now() });
      if (sweep.pending.length > 0) this.#schedule(key, sweep);
      else if (sweep.running.size === 0) this.#namespaces.delete(key);
    };
  }

  /** Stops the timers (the daemon is stopping): what is pending expires as containerd's lease says. */
  close(): void {
    for (const sweep of this.#namespaces.values()) clearTimeout(sweep.timer);
    this.#namespaces.clear();
  }

  #schedule(key: string, sweep: NamespaceSweep): void {
    if (sweep.timer || sweep.sweeping) return;
    const newest = Math.max(...sweep.pending.map((window) => window.endedMs));
    const delay = Math.max(0, newest + this.#settleMs - this.#now());
    sweep.timer = setTimeout(() => {
      sweep.timer = undefined;
      void this.#sweep(key, sweep);
    }, delay);
    sweep.timer.unref();
  }

  async #sweep(key: string, sweep: NamespaceSweep): Promise<void> {
    const now = this.#now();
    const due = sweep.pending.filter((window) => window.endedMs + this.#settleMs <= now && !this.#overlapsRunning(sweep, window));
    if (due.length > 0) {
      sweep.sweeping = true;
      sweep.pending = sweep.pending.filter((window) => !due.includes(window));
      try {
        const leases = await listLeases(sweep.nerdctl);
        const ids = leases.filter((lease) => isClientDefault(lease) && due.some((window) => createdDuring(lease, window))).map((lease) => lease.id);
        await removeLeases(sweep.nerdctl, ids);
        if (ids.length > 0) this.#log(`removed ${ids.length} lease(s) of killed nerdctl transfers in namespace ${key || "(default)"}: ${ids.join(", ")}`);
      } catch (error) {
        this.#log(`removing the leases of killed nerdctl transfers in namespace ${key || "(default)"}: ${(error as Error).message.split("\n")[0]}`);
      } finally {
        sweep.sweeping = false;
      }
    }
    if (sweep.pending.length > 0) {
      // Waiting for its settling time, or for a transfer that started before its end: that one's end reschedules.
      if (sweep.pending.some((window) => !this.#overlapsRunning(sweep, window))) this.#schedule(key, sweep);
    } else if (sweep.running.size === 0) {
      this.#namespaces.delete(key);
    }
  }

  #overlapsRunning(sweep: NamespaceSweep, window: Window): boolean {
    for (const transfer of sweep.running) if (transfer.startedMs <= window.endedMs + 1000) return true;
    return false;
  }
}

function isClientDefault(lease: Lease): boolean {
  const keys = Object.keys(lease.labels);
  return keys.length === 1 && keys[0] === EXPIRY_LABEL;
}

/** containerd's creation time is to the second: the window's seconds, whole. */
function createdDuring(lease: Lease, window: Window): boolean {
  const created = lease.createdAt.getTime();
  return created >= Math.floor(window.startedMs / 1000) * 1000 && created <= Math.floor(window.endedMs / 1000) * 1000;
}
