import type { Readable, Writable } from "node:stream";
import { ArchiveNames } from "../archive/image-archive.ts";
import { saveError } from "../docker/transfer.ts";
import { heapHeadroomDuringTransfer } from "../io/heap.ts";
import { firstChunk } from "../io/readable.ts";
import { Spool } from "../io/spool.ts";
import { untilDrained, type PipeableBody } from "../io/writable.ts";
import { WriteBatcher } from "../io/write-batcher.ts";
import { nerdctlMessage } from "../nerdctl/errors.ts";
import { startSave } from "../nerdctl/transfer.ts";
import type { Scope } from "./scope.ts";
import { ownTransfer, type TransferChild } from "./transfer-child.ts";

/** How many times a save cut short by nerdctl is run again before the client is told. */
const SAVE_ATTEMPTS = 5;
/** What the client's response may hold before the rest goes to the spool. */
const SAVE_DIRECT_LIMIT = 4 * 1024 * 1024;
/** Spool writes still queued in memory before nerdctl is paused. */
const SAVE_QUEUE_LIMIT = 8 * 1024 * 1024;
/** Read from the spool and written to the client at a time. */
const SAVE_SPOOL_BLOCK = 1024 * 1024;

/**
 * GET /images/get and /images/{name}/get: `nerdctl save` of one or more images, streamed to the client as it is
 * written. Resolves at the first byte of the archive; a failure before that
 * (no such image) rejects with Docker's error. A failure after it destroys the
 * destination, so the client sees a truncated transfer rather than a short archive.
 */
export async function saveImages(scope: Scope, names: string[], signal: AbortSignal): Promise<SavedArchive> {
  // A save fetches what the image misses under a lease of its own.
  const start = () => ownTransfer(() => startSave(scope.nerdctl, names), signal, { leftovers: [scope.leases?.holding(scope.nerdctl)] });
  const run = start();
  let first: Buffer | null;
  try {
    first = await firstChunk(run.child.stdout);
  } catch (error) {
    run.kill();
    throw error;
  }
  if (first === null) {
    const result = await run.exited;
    if (result.exitCode !== 0) throw saveError(nerdctlMessage(result.stderr), names);
  }
  return new SavedArchive(run, first, start, signal);
}

/**
 * The archive as nerdctl writes it, sent on to a destination (the client's
 * response) by pipe(). nerdctl is never kept waiting: what the client cannot
 * take yet goes to a Spool and follows from there.
 *
 * That is because nerdctl 2.3.5 (containerd 2.3's transfer client) copies the
 * archive to its stdout in a goroutine nobody waits for: when a slow reader
 * keeps it waiting at the end, it exits 0 with the archive cut short. The spool
 * takes disk space in TMPDIR up to the archive's size while the client lags.
 *
 * Should nerdctl cut an archive short anyway (it exited, but the archive has
 * no end-of-archive marker), the save is run again: its output is
 * deterministic, so the bytes already sent are skipped, after checking they
 * fingerprint the same (see ArchiveNames), and the rest follows.
 */
export class SavedArchive implements PipeableBody {
  readonly #restart: () => TransferChild;
  readonly #signal: AbortSignal;
  readonly #archive = new ArchiveNames();
  #run: TransferChild;
  #first: Buffer | null;
  #destination: Writable | undefined;
  #spool: Spool | undefined;
  #draining = false;
  /** nerdctl has exited 0 and all it wrote has been taken in. */
  #runEnded = false;
  #sent = 0;
  #attempt = 1;
  #stopped = false;
  #batcher: WriteBatcher | undefined;
  #endTransfer: (() => void) | undefined;

  constructor(run: TransferChild, first: Buffer | null, restart: () => TransferChild, signal: AbortSignal) {
    this.#run = run;
    this.#first = first;
    this.#restart = restart;
    this.#signal = signal;
  }

  pipe<T extends Writable>(destination: T): T {
    this.#destination = destination;
    this.#batcher = new WriteBatcher(destination);
    this.#endTransfer = heapHeadroomDuringTransfer();
    destination.once("close", () => this.abort());
    if (this.#first) this.#take(this.#first, this.#run.child.stdout);
    this.#first = null;
    this.#follow(this.#run, 0);
    return destination;
  }

  /** Stops: nerdctl is killed and the spool closed (the client went away, or the archive was sent). Bound: srvx calls it bare. */
  readonly abort = (): void => {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#endTransfer?.();
    this.#batcher?.flush();
    this.#run.kill();
    this.#spool?.close();
  };

  #fail(error: Error): void {
    this.abort();
    this.#destination?.destroy(error);
  }

  /** Takes in a run's output, skipping what an earlier run already sent (once it is known to be the same). */
  #follow(run: TransferChild, skip: number): void {
    const stdout = run.child.stdout;
    const skipped = new ArchiveNames();
    stdout.on("data", (chunk: Buffer) => {
      if (this.#stopped) return;
      if (skip > 0) {
        const repeated = chunk.subarray(0, Math.min(skip, chunk.length));
        skipped.feed(repeated);
        skip -= repeated.length;
        chunk = chunk.subarray(repeated.length);
        if (skip === 0 && skipped.fingerprint !== this.#archive.fingerprint) {
          return this.#fail(new Error("nerdctl save wrote a different archive when run again: cannot resume it"));
        }
      }
      if (chunk.length > 0) this.#take(chunk, stdout);
    });
    stdout.once("error", (error: Error) => this.#fail(error));
    // A short archive may have ended while its first chunk was being read.
    if (stdout.readableEnded) void this.#exited(run);
    else stdout.once("end", () => void this.#exited(run));
  }

  /** One chunk of the archive: to the client when it keeps up, else to the spool. */
  #take(chunk: Buffer, stdout: Readable): void {
    const destination = this.#destination!;
    this.#archive.feed(chunk);
    this.#sent += chunk.length;
    if (!this.#spool?.pending && destination.writableLength < SAVE_DIRECT_LIMIT) {
      this.#batcher!.write(chunk);
      return;
    }
    this.#batcher!.flush();
    this.#spool ??= new Spool("nerdctld-save-");
    const appended = this.#spool.append(chunk);
    if (this.#spool.queued > SAVE_QUEUE_LIMIT && !stdout.isPaused()) {
      stdout.pause();
      void appended.then(() => stdout.resume(), () => {});
    }
    void appended.catch((error: unknown) => this.#fail(error as Error));
    void this.#drain();
  }

  /** Sends what the spool holds as fast as the client takes it. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    const destination = this.#destination!;
    try {
      while (this.#spool!.pending > 0 && !this.#stopped) {
        if (destination.writableLength >= SAVE_DIRECT_LIMIT) await untilDrained(destination);
        if (this.#stopped) return;
        destination.write(await this.#spool!.take(SAVE_SPOOL_BLOCK));
      }
    } catch (error) {
      return this.#fail(error as Error);
    } finally {
      this.#draining = false;
    }
    this.#finishIfDone();
  }

  async #exited(run: TransferChild): Promise<void> {
    const result = await run.exited;
    if (this.#stopped) return;
    if (result.exitCode !== 0) return this.#fail(new Error(`nerdctl save failed mid-archive: ${nerdctlMessage(result.stderr)}`));
    this.#runEnded = true;
    this.#finishIfDone();
  }

  /** Ends the response once nerdctl is done and the spool empty; runs the save again if the archive was cut short. */
  #finishIfDone(): void {
    if (!this.#runEnded || this.#draining || this.#spool?.pending || this.#stopped) return;
    if (this.#archive.complete) {
      this.#batcher!.flush();
      this.#destination!.end();
      this.abort();
      return;
    }
    if (this.#attempt >= SAVE_ATTEMPTS || this.#signal.aborted) {
      return this.#fail(new Error(`nerdctl save ended before the end of the archive (${this.#sent} bytes sent, ${this.#attempt} attempts)`));
    }
    this.#attempt += 1;
    this.#runEnded = false;
    this.#run = this.#restart();
    this.#follow(this.#run, this.#sent);
  }
}
