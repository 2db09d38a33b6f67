/**
 * Moving images in and out of containerd: pull, push, load, import, commit.
 * Each is one streaming nerdctl child (plus, where Docker reports something
 * nerdctl does not print, one small buffered call). Every child is killed when
 * the request's signal aborts (the client went away). Registry credentials
 * reach nerdctl through a temporary DOCKER_CONFIG, never argv.
 */
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { ArchiveNames } from "../archive/image-archive.ts";
import { errorMessage, statusMessage, type JSONMessage, type MessageStream } from "../docker/progress.ts";
import { PullProgress, PushProgress } from "../docker/transfer-progress.ts";
import {
  assertNoImportChanges,
  containerdName,
  importError,
  loadedMessages,
  loadErrorMessage,
  parseCommit,
  pullError,
  pushErrorMessage,
  type CommitQuery,
  type ImageCreateRequest,
  type ImportRequest,
  type PullRequest,
  type PushRequest,
} from "../docker/transfer.ts";
import { badParameter } from "../errors.ts";
import { openFifo } from "../io/fifo.ts";
import { readLines } from "../io/lines.ts";
import { pipeInto } from "../io/pipe.ts";
import { nerdctlMessage } from "../nerdctl/errors.ts";
import {
  commit,
  imageDigest,
  imageId,
  imageNames,
  importRecords,
  isImportRecord,
  loadedNames,
  pushedDigest,
  removeImages,
  startImport,
  startLoad,
  startPull,
  startPush,
  targetSize,
} from "../nerdctl/transfer.ts";
import { assertObjectName } from "../nerdctl/validate.ts";
import { referenceString } from "../reference.ts";
import { imageOperation } from "./image-changes.ts";
import type { Scope } from "./scope.ts";
import { credentialsFor, ownTransfer, type TransferChild } from "./transfer-child.ts";

/** POST /images/create: a pull, or an import of the request body (or a URL). */
export async function createImage(scope: Scope, request: ImageCreateRequest, body: Readable, signal: AbortSignal): Promise<MessageStream> {
  if (request.kind === "pull") return pullImage(scope, request, signal);
  return { messages: [await importImage(scope, request, body, signal)], kill: () => {} };
}

/**
 * `nerdctl pull`. Resolves once nerdctl shows progress (the reference was
 * found); a failure before that rejects with dockerd's status code, so the
 * client gets a plain error response as from dockerd.
 */
async function pullImage(scope: Scope, request: PullRequest, signal: AbortSignal): Promise<MessageStream> {
  const ref = request.reference;
  const previous = await imageDigest(scope.nerdctl, ref);
  const credentials = await credentialsFor(request.auth, ref.domain);
  const announced = imageOperation(scope, { kind: "pull", reference: referenceString(ref) });
  const run = ownTransfer((io) => startPull(scope.nerdctl, ref, request.platform, io), signal, { credentials, announced, leftovers: [scope.leases?.holding(scope.nerdctl)] });
  const lines = readLines(run.child.stdout);
  const first = await lines.next();
  if (first.done) {
    const result = await run.exited;
    if (result.exitCode !== 0) throw pullError(nerdctlMessage(result.stderr), ref);
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

/**
 * POST /images/{name}/push: `nerdctl push`, as dockerd streams it: the first
 * line goes out at once, failures (no such image, unauthorized) arrive in the stream.
 */
export function pushImage(scope: Scope, request: PushRequest, signal: AbortSignal): MessageStream {
  const ref = request.reference;
  const tag = ref.tag ?? "latest";
  const progress = new PushProgress(ref);
  let run: TransferChild | undefined;
  let killed = false;
  const kill = () => {
    killed = true;
    run?.kill();
  };
  async function* messages(): AsyncGenerator<JSONMessage> {
    yield* progress.start();
    if (killed || signal.aborted) return;
    const credentials = await credentialsFor(request.auth, ref.domain);
    const pushed = await scope.pushes?.starting(scope.nerdctl, referenceString({ ...ref, tag }));
    if (killed || signal.aborted) {
      await Promise.all([credentials.remove(), pushed?.(false)]);
      return;
    }
    run = ownTransfer((io) => startPush(scope.nerdctl, { ...ref, tag }, io), signal, { credentials, leftovers: [scope.leases?.holding(scope.nerdctl), pushed] });
    try {
      for await (const line of readLines(run.child.stdout)) yield* progress.line(line);
      const result = await run.exited;
      if (result.exitCode !== 0) {
        yield pushErrorMessage(nerdctlMessage(result.stderr), ref);
        return;
      }
      const digest = pushedDigest(result.stderr);
      if (!digest) {
        yield errorMessage(`nerdctl push did not report the digest it pushed: ${nerdctlMessage(result.stderr)}`);
        return;
      }
      const size = await targetSize(scope.nerdctl, { ...ref, tag }, digest);
      yield* progress.finish({ tag, digest, ...(size === undefined ? {} : { size }) });
    } finally {
      run?.kill();
    }
  }
  return { messages: messages(), kill };
}

/**
 * POST /images/load: `nerdctl load` from the request body, streamed into its
 * stdin. Docker's messages come back once nerdctl is done: `Loaded image: …`
 * per image, or the error. A failed load leaves no image it created; the
 * `import@sha256:<index>` record nerdctl 2.3 adds is removed when this load made it.
 *
 * nerdctl 2.3 prints its `Loaded image:` lines from a progress goroutine that
 * can drop the last events (it stops on a cancelled context with events still
 * queued), so the image list before and after the load is compared as well.
 */
export async function loadImages(scope: Scope, body: Readable, signal: AbortSignal): Promise<JSONMessage[]> {
  const nerdctl = scope.nerdctl;
  const before = await imageNames(nerdctl);
  // nerdctl load refuses a stdin that is neither a FIFO nor a non-empty file, and Node's pipes are socketpairs.
  const fifo = await openFifo();
  let run: TransferChild;
  try {
    run = ownTransfer(() => startLoad(nerdctl, fifo.readFd), signal, {
      announced: imageOperation(scope, { kind: "load" }),
      leftovers: [scope.leases?.holding(nerdctl)],
    });
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
    return [loadErrorMessage(nerdctlMessage(result.stderr))];
  }
  await removeImages(nerdctl, [...new Set([...printed, ...appeared].filter((name) => isImportRecord(name) && !before.has(name)))]);
  const archived = declared.names().map(containerdName).filter((name) => after.has(name));
  const names = [...new Set([...printed, ...appeared, ...archived])].filter((name) => !isImportRecord(name));
  return loadedMessages(names);
}

/**
 * `nerdctl import` of a root filesystem tarball; dockerd's one message,
 * `{"status": "sha256:<image id>"}`. nerdctl names an image imported
 * without a repository `import-<date>:latest` (dockerd leaves it untagged).
 */
async function importImage(scope: Scope, request: ImportRequest, body: Readable, signal: AbortSignal): Promise<JSONMessage> {
  assertNoImportChanges(request.changes);
  const run = ownTransfer(() => startImport(scope.nerdctl, request), signal, {
    announced: imageOperation(scope, { kind: "import" }),
    leftovers: [scope.leases?.holding(scope.nerdctl)],
  });
  let feeding: Promise<unknown> = Promise.resolve(undefined);
  if (request.source === "-") {
    feeding = pipeInto(body, run.child.stdin).catch((error: unknown) => {
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
  if (result.exitCode !== 0 || !name) throw importError(nerdctlMessage(result.stderr));
  await removeImages(scope.nerdctl, importRecords(result.stderr, name));
  return statusMessage(await imageId(scope.nerdctl, name));
}

/**
 * POST /commit: `nerdctl commit`; the new image's id. nerdctl cannot make an
 * untagged image: without a repository it is named `commit-<random>:latest`.
 */
export async function commitContainer(scope: Scope, container: string, query: CommitQuery, signal: AbortSignal): Promise<{ Id: string }> {
  assertObjectName("container", container);
  const request = parseCommit(query);
  const reference = request.reference ?? { domain: "docker.io", path: `library/commit-${randomBytes(6).toString("hex")}`, tag: "latest" };
  return { Id: await scope.state.changing("images", () => commit(scope.nerdctl, { ...request, container, reference }, signal)) };
}
