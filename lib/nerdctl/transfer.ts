/**
 * Moving images in and out of containerd with nerdctl: pull, push, load,
 * save, import, commit. Each is one streaming nerdctl child (plus, where Docker
 * reports something nerdctl does not print, one small buffered call). Every
 * child is killed when the request's signal aborts (the client went away).
 * Registry credentials reach nerdctl through a temporary DOCKER_CONFIG, never argv.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants, openSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { badParameter, errorFromStderr, nerdctlMessage, notImplemented } from "../docker/errors.ts";
import { errorMessage, statusMessage, type JSONMessage } from "../docker/progress.ts";
import {
  ArchiveNames,
  dockerConfigFor,
  importError,
  isDigest,
  isImportRecord,
  loadedMessages,
  loadedNames,
  loadErrorMessage,
  parseReference,
  pullError,
  PullProgress,
  pushedDigest,
  pushErrorMessage,
  PushProgress,
  referenceString,
  saveError,
  type ImageReference,
  type RegistryAuth,
} from "../docker/transfer.ts";
import type { RunningCommand, RunResult } from "../runner/types.ts";
import { pipeInto, readLines, whenClientGone } from "../server/streams.ts";
import type { Nerdctl } from "./client.ts";
import { assertObjectName, assertTag, isImageReference } from "./validate.ts";

const execFileAsync = promisify(execFile);

// --- validation ---------------------------------------------------------------------

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** An image reference from the client (`name[:tag][@digest]`), parsed; 400 when it is not one. */
export function imageReference(value: string): ImageReference {
  if (!isImageReference(value)) throw badParameter(`invalid reference format: ${describe(value)}`);
  return parseReference(value);
}

/** A repository and optional tag (import, commit): no digest, the tag parameter winning over one in the name. */
export function repositoryTag(repo: string, tag: string | undefined): ImageReference {
  const ref = imageReference(repo);
  if (ref.digest !== undefined) throw badParameter(`invalid reference format: ${describe(repo)} (a digest cannot be a target)`);
  if (tag) return { domain: ref.domain, path: ref.path, tag: assertTag(tag) };
  return ref.tag === undefined ? { ...ref, tag: "latest" } : ref;
}

/** The pull `tag` parameter: a tag or a digest. */
export function tagOrDigest(value: string): string {
  return isDigest(value) ? value : assertTag(value);
}

/** `os[/arch[/variant]]`, containerd's platform syntax. */
export function platformSpec(value: string): string {
  if (/^[a-z0-9][a-z0-9_.-]{0,63}(?:\/[a-z0-9][a-z0-9_.-]{0,63}){0,2}$/i.test(value)) return value;
  throw badParameter(`invalid platform: ${describe(value)}`);
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
    throw badParameter(`fromSrc must be "-" (the request body) or an http(s) URL, not ${describe(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw badParameter(`fromSrc: unsupported URL scheme ${describe(url.protocol)}`);
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
 * A FIFO to use as a child's stdin, already unlinked: the read end for the
 * child, the write end as a non-blocking Node stream (back-pressure without
 * blocking libuv's thread pool). Node has no mkfifo, so coreutils' makes it.
 */
async function openFifo(): Promise<{ readFd: number; writer: Socket; closeReadEnd(): void }> {
  const dir = await mkdtemp(join(tmpdir(), "nerdctld-fifo-"));
  try {
    const path = join(dir, "stdin");
    await execFileAsync("mkfifo", ["-m", "600", "--", path], { timeout: 10_000 });
    // The read end first, non-blocking, so opening the write end does not wait for a reader.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    let writeFd: number;
    try {
      writeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      closeSync(readFd);
      throw error;
    }
    const writer = new Socket({ fd: writeFd, readable: false, writable: true });
    writer.on("error", () => {});
    let open = true;
    return {
      readFd,
      writer,
      closeReadEnd: () => {
        if (open) closeSync(readFd);
        open = false;
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Starts nerdctl; it is killed when signal aborts, and its credentials go when it exits. */
function start(nerdctl: Nerdctl, args: string[], signal: AbortSignal, credentials?: Credentials, stdinFd?: number): Child {
  const command = {
    ...nerdctl.command(args),
    ...(credentials?.env ? { env: credentials.env } : {}),
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

/** An archive being written by one child. */
export interface ByteStream {
  chunks: AsyncIterable<Uint8Array>;
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
  const run = start(nerdctl, args, signal, await credentialsFor(options.auth, ref.domain));
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
    run = start(nerdctl, ["push", "--", referenceString({ ...ref, tag })], signal, await credentialsFor(options.auth, ref.domain));
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
    run = start(nerdctl, ["load"], signal, undefined, fifo.readFd);
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

/** How many times a save cut short by nerdctl is resumed before the client is told. */
const SAVE_ATTEMPTS = 5;

/**
 * `nerdctl save` of one or more images, its stdout piped out as it is written.
 * Resolves at the first byte of the archive; a failure before that (no such
 * image) rejects with Docker's error. A failure after it breaks the stream, so
 * the client sees a truncated transfer rather than a short archive.
 *
 * nerdctl 2.3.5 (containerd 2.3's transfer client) can exit 0 before it has
 * written the last part of the archive when its stdout is slower than
 * containerd: the copy runs in a goroutine nobody waits for. Its output is
 * deterministic, so a save whose archive did not end (no end-of-archive
 * marker) is run again, the bytes already sent are skipped (and checked to be
 * the same), and the rest follows.
 */
export async function saveImages(nerdctl: Nerdctl, names: string[], signal: AbortSignal): Promise<ByteStream> {
  const args = ["save", "--", ...names];
  let run = start(nerdctl, args, signal);
  let iterator = (run.child.stdout as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  try {
    do first = await iterator.next();
    while (!first.done && first.value.length === 0);
  } catch (error) {
    run.kill();
    throw error;
  }
  if (first.done) {
    const result = await run.exited;
    if (result.exitCode !== 0) throw saveError(result.stderr, names);
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const archive = new ArchiveNames();
    const sentHash = createHash("sha256");
    let sent = 0;
    let pending: IteratorResult<Uint8Array> | undefined = first;
    try {
      for (let attempt = 1; ; attempt++) {
        let skip = attempt === 1 ? 0 : sent;
        const skipped = createHash("sha256");
        for (let next = pending ?? (await iterator.next()); !next.done; next = await iterator.next()) {
          let chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
          if (skip > 0) {
            const part = chunk.subarray(0, Math.min(skip, chunk.length));
            skipped.update(part);
            skip -= part.length;
            chunk = chunk.subarray(part.length);
            if (skip === 0 && skipped.digest("hex") !== sentHash.copy().digest("hex")) {
              throw new Error("nerdctl save wrote a different archive when run again: cannot resume it");
            }
          }
          if (chunk.length === 0) continue;
          sentHash.update(chunk);
          archive.feed(chunk);
          sent += chunk.length;
          yield chunk;
        }
        pending = undefined;
        const result = await run.exited;
        if (result.exitCode !== 0) throw new Error(`nerdctl save failed mid-archive: ${nerdctlMessage(result.stderr)}`);
        if (archive.complete) return;
        if (attempt >= SAVE_ATTEMPTS || signal.aborted) {
          throw new Error(`nerdctl save ended before the end of the archive (${sent} bytes sent, ${attempt} attempts)`);
        }
        run = start(nerdctl, args, signal);
        iterator = (run.child.stdout as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      }
    } finally {
      run.kill();
    }
  }
  return { chunks: chunks(), kill: () => run.kill() };
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
