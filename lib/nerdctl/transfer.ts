/**
 * Moving images in and out of containerd with nerdctl: pull, push, load,
 * save, import, commit. Each is one streaming nerdctl child (plus, where Docker
 * reports something nerdctl does not print, one small buffered call). Every
 * child is killed when the request's signal aborts (the client went away).
 * Registry credentials reach nerdctl through a temporary DOCKER_CONFIG, never argv.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { badParameter, notImplemented } from "../errors.ts";
import { errorFromStderr, nerdctlMessage } from "./errors.ts";
import { errorMessage, statusMessage, type JSONMessage } from "../docker/progress.ts";
import { ArchiveNames, dockerConfigFor, importError, isImportRecord, loadedMessages, loadedNames, loadErrorMessage, pullError, PullProgress, pushedDigest, pushErrorMessage, PushProgress, saveError, type RegistryAuth } from "../docker/transfer.ts";
import { heapHeadroomDuringTransfer } from "../io/heap.ts";
import type { RunningCommand, RunResult } from "../runner/types.ts";
import { readLines } from "../io/lines.ts";
import { pipeInto } from "../io/pipe.ts";
import { openFifo } from "../io/fifo.ts";
import { firstChunk } from "../io/readable.ts";
import { whenClientGone } from "../io/signals.ts";
import { Spool } from "../io/spool.ts";
import { untilDrained, type PipeableBody } from "../io/writable.ts";
import { WriteBatcher } from "../io/write-batcher.ts";
import type { Nerdctl } from "./client.ts";
import { assertObjectName } from "./validate.ts";
import { assertTag, describeValue, type ImageReference, isDigest, isImageReference, referenceString, splitReference } from "../reference.ts";

// --- validation ---------------------------------------------------------------------

/** `os[/arch[/variant]]`, containerd's platform syntax. */
export function platformSpec(value: string): string {
  if (/^[a-z0-9][a-z0-9_.-]{0,63}(?:\/[a-z0-9][a-z0-9_.-]{0,63}){0,2}$/i.test(value)) return value;
  throw badParameter(`invalid platform: ${describeValue(value)}`);
}

/** Free text (commit message, author, comment): passed as `--flag=value`, so only NUL is refused. */
export function freeText(name: string, value: string): string {
  if (value.includes("\0")) throw badParameter(`invalid ${name}: contains a NUL character`);
  return value;
}

/** Where `nerdctl import` reads from: the request body (`-`) or an http(s) URL. */
export function importSource(value: string): string {
  if (value === "-") return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badParameter(`fromSrc must be "-" (the request body) or an http(s) URL, not ${describeValue(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw badParameter(`fromSrc: unsupported URL scheme ${describeValue(url.protocol)}`);
  return url.href;
}

// --- children -----------------------------------------------------------------------

interface Child {
  child: RunningCommand;
  /** The child's exit, after its credentials were removed. */
  exited: Promise<RunResult>;
  kill(): void;
}

interface Credentials {
  env?: Record<string, string>;
  remove(): Promise<void>;
}

/**
 * A DOCKER_CONFIG directory holding only this request's credentials (0700
 * directory, 0600 file), removed when the child is gone. None when the
 * client sent no credentials: nerdctl then uses the daemon user's own config.
 */
async function credentialsFor(auth: RegistryAuth | undefined, domain: string): Promise<Credentials> {
  const config = dockerConfigFor(auth, domain);
  if (config === undefined) return { remove: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "nerdctld-auth-"));
  try {
    await writeFile(join(dir, "config.json"), config, { mode: 0o600 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { env: { DOCKER_CONFIG: dir }, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Go's collector setting for a nerdctl child moving an archive or layers.
 * Every chunk it streams is a fresh allocation on a heap of a few MB, and at
 * Go's default (GOGC=100: a 4 MB minimum heap goal) it collects every few MB
 * moved; 200 doubles the goal, which takes about a third off `nerdctl save`'s
 * CPU for some 6 MB more of its memory. A GOGC given to the daemon is kept.
 */
export const STREAMING_GOGC = "200";
const STREAMING_GO_ENV: Record<string, string> = process.env.GOGC === undefined ? { GOGC: STREAMING_GOGC } : {};

interface ChildIo {
  credentials?: Credentials;
  /** A file descriptor to read as stdin instead of a pipe. */
  stdinFd?: number;
}

/** Starts nerdctl; it is killed when signal aborts, and its credentials go when it exits. */
function start(nerdctl: Nerdctl, args: string[], signal: AbortSignal, io: ChildIo = {}): Child {
  const { credentials, stdinFd } = io;
  const command = {
    ...nerdctl.command(args),
    // Transfers start no helpers, and share the daemon's CPU share rather than taking containerd's.
    sameSession: true,
    env: { ...STREAMING_GO_ENV, ...credentials?.env },
    ...(stdinFd === undefined ? {} : { stdinFd }),
  };
  let child: RunningCommand;
  try {
    child = nerdctl.runner.spawn(command);
  } catch (error) {
    void credentials?.remove();
    throw error;
  }
  let exited = false;
  let killed = false;
  const kill = () => {
    if (exited || killed) return;
    killed = true;
    child.kill();
    // Output nobody will read any more: the child's exit is only reported once its stdout has ended.
    child.stdout.destroy();
  };
  const stopListening = whenClientGone(signal, kill);
  const done = child.exited.finally(async () => {
    exited = true;
    stopListening();
    await credentials?.remove();
  });
  return { child, exited: done, kill };
}

/** A stream of Docker messages backed by one child; kill() ends it early (the client stopped reading). */
export interface MessageStream {
  messages: AsyncIterable<JSONMessage>;
  kill(): void;
}

// --- pull ---------------------------------------------------------------------------

export interface PullOptions {
  reference: ImageReference;
  platform?: string;
  auth?: RegistryAuth;
}

/** The digest a name points at now (index or manifest), or undefined when there is no such image. */
async function currentDigest(nerdctl: Nerdctl, ref: ImageReference): Promise<string | undefined> {
  const result = await nerdctl.runner.run(nerdctl.command(["images", "--no-trunc", "--format", "{{.Digest}}", "--", referenceString(ref)]));
  if (result.exitCode !== 0) return undefined;
  return result.stdout.split("\n").find((line) => line.startsWith("sha256:"))?.trim();
}

/**
 * `nerdctl pull`. Resolves once nerdctl shows progress (the reference was
 * found); a failure before that rejects with dockerd's status code, so the
 * client gets a plain error response as from dockerd.
 */
export async function pullImage(nerdctl: Nerdctl, options: PullOptions, signal: AbortSignal): Promise<MessageStream> {
  const ref = options.reference;
  const previous = await currentDigest(nerdctl, ref);
  const args = ["pull", ...(options.platform ? [`--platform=${options.platform}`] : []), "--", referenceString(ref)];
  const run = start(nerdctl, args, signal, { credentials: await credentialsFor(options.auth, ref.domain) });
  const lines = readLines(run.child.stdout);
  const first = await lines.next();
  if (first.done) {
    const result = await run.exited;
    if (result.exitCode !== 0) throw pullError(result.stderr, ref);
  }
  const progress = new PullProgress(ref);
  async function* messages(): AsyncGenerator<JSONMessage> {
    try {
      yield* progress.start();
      if (!first.done) yield* progress.line(first.value);
      for await (const line of lines) yield* progress.line(line);
      const result = await run.exited;
      if (result.exitCode !== 0) yield errorMessage(nerdctlMessage(result.stderr));
      else yield* progress.finish(previous);
    } finally {
      run.kill();
    }
  }
  return { messages: messages(), kill: run.kill };
}

// --- push ---------------------------------------------------------------------------

export interface PushOptions {
  /** With its tag. */
  reference: ImageReference;
  auth?: RegistryAuth;
}

/** The size of the pushed manifest or index, from the local store (nerdctl prints only the digest). */
async function targetSize(nerdctl: Nerdctl, ref: ImageReference, digest: string): Promise<number | undefined> {
  const result = await nerdctl.runner.run(
    nerdctl.command(["image", "inspect", "--mode=native", "--format", "{{json .Image.Target}}", "--", referenceString(ref)]),
  );
  if (result.exitCode !== 0) return undefined;
  for (const line of result.stdout.split("\n")) {
    try {
      const target = JSON.parse(line) as { digest?: string; size?: number };
      if (target.digest === digest && typeof target.size === "number") return target.size;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/**
 * `nerdctl push`, as dockerd streams it: the first line goes out at once,
 * failures (no such image, unauthorized) arrive in the stream.
 */
export function pushImage(nerdctl: Nerdctl, options: PushOptions, signal: AbortSignal): MessageStream {
  const ref = options.reference;
  const tag = ref.tag ?? "latest";
  const progress = new PushProgress(ref);
  let run: Child | undefined;
  let killed = false;
  const kill = () => {
    killed = true;
    run?.kill();
  };
  async function* messages(): AsyncGenerator<JSONMessage> {
    yield* progress.start();
    if (killed || signal.aborted) return;
    run = start(nerdctl, ["push", "--", referenceString({ ...ref, tag })], signal, { credentials: await credentialsFor(options.auth, ref.domain) });
    try {
      for await (const line of readLines(run.child.stdout)) yield* progress.line(line);
      const result = await run.exited;
      if (result.exitCode !== 0) {
        yield pushErrorMessage(result.stderr, ref);
        return;
      }
      const digest = pushedDigest(result.stderr);
      if (!digest) {
        yield errorMessage(`nerdctl push did not report the digest it pushed: ${nerdctlMessage(result.stderr)}`);
        return;
      }
      const size = await targetSize(nerdctl, { ...ref, tag }, digest);
      yield* progress.finish({ tag, digest, ...(size === undefined ? {} : { size }) });
    } finally {
      run?.kill();
    }
  }
  return { messages: messages(), kill };
}

// --- load ---------------------------------------------------------------------------

/** Every image name of the namespace, to tell afterwards what a load created. */
async function imageNames(nerdctl: Nerdctl): Promise<Set<string>> {
  const stdout = await nerdctl.output(["images", "--all", "--format", "{{.Name}}"]);
  return new Set(stdout.split("\n").map((line) => line.trim()).filter(Boolean));
}

async function removeImages(nerdctl: Nerdctl, names: string[]): Promise<void> {
  if (names.length === 0) return;
  // Best effort: a failure here leaves an extra name, never a broken image.
  await nerdctl.runner.run(nerdctl.command(["rmi", "--", ...names]));
}

/**
 * `nerdctl load` from the request body, streamed into its stdin. Docker's
 * messages come back once nerdctl is done: `Loaded image: …` per image, or the
 * error. A failed load leaves no image it created; the `import@sha256:<index>`
 * record nerdctl 2.3 adds is removed when this load made it.
 *
 * nerdctl 2.3 prints its `Loaded image:` lines from a progress goroutine that
 * can drop the last events (it stops on a cancelled context with events still
 * queued), so the image list before and after the load is compared as well.
 */
export async function loadImages(nerdctl: Nerdctl, body: Readable, signal: AbortSignal): Promise<JSONMessage[]> {
  const before = await imageNames(nerdctl);
  // nerdctl load refuses a stdin that is neither a FIFO nor a non-empty file, and Node's pipes are socketpairs.
  const fifo = await openFifo();
  let run: Child;
  try {
    run = start(nerdctl, ["load"], signal, { stdinFd: fifo.readFd });
  } finally {
    fifo.closeReadEnd();
  }
  // The archive's own list of names, read as it goes by: nerdctl's output may miss some (see above).
  const declared = new ArchiveNames();
  body.on("data", (chunk: Buffer | string) => declared.feed(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
  const feeding = pipeInto(body, fifo.writer).catch((error: unknown) => {
    run.kill();
    return error;
  });
  void run.exited.finally(() => fifo.writer.destroy());
  const printed: string[] = [];
  for await (const line of readLines(run.child.stdout)) printed.push(...loadedNames(line));
  const [result, feedError] = await Promise.all([run.exited, feeding]);
  const after = await imageNames(nerdctl);
  const appeared = [...after].filter((name) => !before.has(name));
  const failed = Boolean(feedError) || signal.aborted || result.exitCode !== 0;
  if (failed) {
    // What this load saved before failing: the names it printed, and index records nobody else makes.
    await removeImages(nerdctl, [...new Set([...printed.filter((name) => !before.has(name)), ...appeared.filter(isImportRecord)])]);
    if (feedError || signal.aborted) return [errorMessage("the client went away before the whole archive was sent")];
    return [loadErrorMessage(result.stderr)];
  }
  await removeImages(nerdctl, [...new Set([...printed, ...appeared].filter((name) => isImportRecord(name) && !before.has(name)))]);
  const names = [...new Set([...printed, ...appeared, ...declared.names().filter((name) => after.has(name))])].filter((name) => !isImportRecord(name));
  return loadedMessages(names);
}

// --- save ---------------------------------------------------------------------------

/** How many times a save cut short by nerdctl is run again before the client is told. */
const SAVE_ATTEMPTS = 5;
/** What the client's response may hold before the rest goes to the spool. */
const SAVE_DIRECT_LIMIT = 4 * 1024 * 1024;
/** Spool writes still queued in memory before nerdctl is paused. */
const SAVE_QUEUE_LIMIT = 8 * 1024 * 1024;
/** Read from the spool and written to the client at a time. */
const SAVE_SPOOL_BLOCK = 1024 * 1024;

/**
 * `nerdctl save` of one or more images, streamed to the client as it is
 * written. Resolves at the first byte of the archive; a failure before that
 * (no such image) rejects with Docker's error. A failure after it destroys the
 * destination, so the client sees a truncated transfer rather than a short archive.
 */
export async function saveImages(nerdctl: Nerdctl, names: string[], signal: AbortSignal): Promise<SavedArchive> {
  const args = ["save", "--", ...names];
  const run = start(nerdctl, args, signal);
  let first: Buffer | null;
  try {
    first = await firstChunk(run.child.stdout);
  } catch (error) {
    run.kill();
    throw error;
  }
  if (first === null) {
    const result = await run.exited;
    if (result.exitCode !== 0) throw saveError(result.stderr, names);
  }
  return new SavedArchive(run, first, () => start(nerdctl, args, signal), signal);
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
  readonly #restart: () => Child;
  readonly #signal: AbortSignal;
  readonly #archive = new ArchiveNames();
  #run: Child;
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

  constructor(run: Child, first: Buffer | null, restart: () => Child, signal: AbortSignal) {
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
  #follow(run: Child, skip: number): void {
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

  async #exited(run: Child): Promise<void> {
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

// --- import -------------------------------------------------------------------------

export interface ImportOptions {
  /** `-` (the request body) or an http(s) URL. */
  source: string;
  body?: Readable;
  reference?: ImageReference;
  message?: string;
  platform?: string;
  changes: string[];
}

/** The extra `<name>@sha256:<index>` record nerdctl 2.3 import saves next to the name (its stderr progress). */
function importRecords(stderr: string, name: string): string[] {
  const records: string[] = [];
  for (const line of stderr.split("\n")) {
    const match = /^(\S+@sha256:[0-9a-f]{64})\tsaved\b/.exec(line);
    if (match && match[1]!.startsWith(`${name}@`) && !records.includes(match[1]!)) records.push(match[1]!);
  }
  return records;
}

/**
 * `nerdctl import` of a root filesystem tarball; returns dockerd's one
 * message, `{"status": "sha256:<image id>"}`. nerdctl names an image imported
 * without a repository `import-<date>:latest` (dockerd leaves it untagged).
 */
export async function importImage(nerdctl: Nerdctl, options: ImportOptions, signal: AbortSignal): Promise<JSONMessage> {
  if (options.changes.length > 0) {
    throw notImplemented(`changes are not supported for import: nerdctl import cannot apply ${options.changes.map((change) => JSON.stringify(change)).join(", ")}`);
  }
  const args = [
    "import",
    ...(options.message ? [`--message=${options.message}`] : []),
    ...(options.platform ? [`--platform=${options.platform}`] : []),
    "--",
    options.source,
    ...(options.reference ? [referenceString(options.reference)] : []),
  ];
  const run = start(nerdctl, args, signal);
  let feeding: Promise<unknown> = Promise.resolve(undefined);
  if (options.source === "-" && options.body) {
    feeding = pipeInto(options.body, run.child.stdin).catch((error: unknown) => {
      run.kill();
      return error;
    });
  } else {
    run.child.stdin.end();
  }
  let name = "";
  for await (const line of readLines(run.child.stdout)) if (line.trim()) name = line.trim();
  const [result, feedError] = await Promise.all([run.exited, feeding]);
  if (feedError || signal.aborted) throw badParameter("the client went away before the whole archive was sent");
  if (result.exitCode !== 0 || !name) throw importError(result.stderr);
  await removeImages(nerdctl, importRecords(result.stderr, name));
  const id = (await nerdctl.output(["image", "inspect", "--format", "{{.Id}}", "--", name], { kind: "image", name })).trim();
  return statusMessage(id);
}

// --- commit -------------------------------------------------------------------------

export interface CommitOptions {
  container: string;
  reference?: ImageReference;
  comment?: string;
  author?: string;
  changes: string[];
  pause: boolean;
}

/**
 * `nerdctl commit`; returns the new image's id. nerdctl cannot make an
 * untagged image: without a repository it is named `commit-<random>:latest`.
 */
export async function commitContainer(nerdctl: Nerdctl, options: CommitOptions, signal?: AbortSignal): Promise<string> {
  assertObjectName("container", options.container);
  const reference = options.reference ?? { domain: "docker.io", path: `library/commit-${randomBytes(6).toString("hex")}`, tag: "latest" };
  const args = [
    "commit",
    ...(options.author ? [`--author=${options.author}`] : []),
    ...(options.comment ? [`--message=${options.comment}`] : []),
    ...options.changes.map((change) => `--change=${change}`),
    ...(options.pause ? [] : ["--pause=false"]),
    "--",
    options.container,
    referenceString(reference),
  ];
  const result = await nerdctl.runner.run(nerdctl.command(args), signal ? { signal } : {});
  if (result.exitCode !== 0) throw errorFromStderr(result.stderr, { kind: "container", name: options.container });
  const id = /sha256:[0-9a-f]{64}/.exec(result.stdout)?.[0];
  if (!id) throw new Error(`nerdctl commit printed no image id: ${result.stdout.trim() || nerdctlMessage(result.stderr)}`);
  return id;
}
