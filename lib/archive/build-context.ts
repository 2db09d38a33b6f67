/**
 * A build context (POST /build's body: a tar archive, plain or gzip) streamed
 * into a temporary directory, one entry at a time, never whole in memory and
 * bounded in size, each entry checked as it arrives (see extract.ts). Anything
 * wrong is a 400 before a build starts; the directory is then already gone.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { badParameter } from "../errors.ts";
import { decompressed } from "./decompress.ts";
import { drainIterator } from "../io/readable.ts";
import { entryComponents, extractBuildContext } from "./extract.ts";

/** Tar bytes (after gzip) a context may hold by default. */
export const DEFAULT_CONTEXT_LIMIT = 8 * 1024 ** 3;
/** Entries a context may hold by default (each is a file or directory on disk). */
export const DEFAULT_ENTRY_LIMIT = 1_000_000;

/** Temporary build directories are named this, then something unique. */
export const BUILD_DIR_PREFIX = "nerdctld-build-";

/**
 * Where build directories go and what makes each name unique: 64 random hex
 * digits (the name is also how a build's leftover processes are found). Fixture
 * recording and route tests put fixed names here, so recorded argv is stable.
 */
export const buildDirectories = {
  parent: (): string => tmpdir(),
  uniqueName: (): string => randomBytes(32).toString("hex"),
};

export interface BuildDirectory {
  /** The temporary directory (0700): `context/` inside it, and whatever else a build needs. */
  root: string;
  /** The extracted context. */
  context: string;
  /** Removes everything; safe to call more than once. */
  remove(): Promise<void>;
}

export interface ReceiveOptions {
  /** Aborts (the client went away): the directory is removed and this rejects. */
  signal?: AbortSignal;
  /** Largest tar stream accepted (bytes after decompression). */
  maxBytes?: number;
  maxEntries?: number;
  /** Parent of the temporary directory (buildDirectories.parent()). */
  tmpDir?: string;
}

/** Makes a fresh 0700 directory for one build; the caller removes it. */
export async function createBuildDirectory(tmpDir: string = buildDirectories.parent()): Promise<BuildDirectory> {
  const root = join(tmpDir, `${BUILD_DIR_PREFIX}${buildDirectories.uniqueName()}`);
  await mkdir(root, { mode: 0o700 });
  const context = join(root, "context");
  await mkdir(context, { mode: 0o755 });
  let removing: Promise<void> | undefined;
  return { root, context, remove: () => (removing ??= rm(root, { recursive: true, force: true, maxRetries: 3 })) };
}

/**
 * Receives a context body into a new build directory. Resolves once the whole
 * archive is on disk and checked; rejects (directory removed) when it is not a
 * tar archive, breaks a rule, is too large, or the client goes away.
 */
export async function receiveBuildContext(body: Readable, options: ReceiveOptions = {}): Promise<BuildDirectory> {
  const dir = await createBuildDirectory(options.tmpDir);
  const source = (body as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const onAbort = () => body.destroy(new Error("the client went away before sending the whole build context"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (options.signal?.aborted) onAbort();
    const limits = { maxBytes: options.maxBytes ?? DEFAULT_CONTEXT_LIMIT, maxEntries: options.maxEntries ?? DEFAULT_ENTRY_LIMIT };
    await extractBuildContext(await decompressed(source, "the build context"), dir.context, limits);
    if (options.signal?.aborted) throw new Error("the client went away before sending the whole build context");
    return dir;
  } catch (error) {
    // Whatever is left of a refused body is read and dropped, so the client gets its answer.
    if (!body.destroyed && !body.readableEnded) void drainIterator(source);
    await dir.remove();
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The Dockerfile the client named (`dockerfile`, relative to the context's
 * root), as a path inside dir; 400 when it leaves the context or is not a
 * regular file there, in dockerd's words.
 */
export async function dockerfileIn(dir: BuildDirectory, dockerfile: string): Promise<string> {
  const parts = entryComponents(dockerfile, "Dockerfile path");
  const missing = () => badParameter(`Cannot locate specified Dockerfile: ${dockerfile}`);
  if (parts.length === 0) throw missing();
  let path = dir.context;
  for (const [index, part] of parts.entries()) {
    path = join(path, part);
    let stat;
    try {
      stat = await lstat(path);
    } catch {
      throw missing();
    }
    const last = index === parts.length - 1;
    if (stat.isSymbolicLink() || (last ? !stat.isFile() : !stat.isDirectory())) throw missing();
  }
  return path;
}
