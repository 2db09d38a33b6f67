/**
 * A build context (POST /build's body: a tar archive, plain or gzip) streamed
 * into a temporary directory, one entry at a time, never whole in memory and
 * bounded in size. Every entry is checked as it arrives: nothing may land
 * outside the directory (`../`, absolute paths, writes through a symbolic
 * link), no symbolic link or hard link may point outside it. Anything wrong is
 * a 400 before a build starts; the directory is then already gone.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, link, lstat, mkdir, open, readlink, rm, symlink, unlink, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { badParameter, ApiError } from "../errors.ts";

/** Tar bytes (after gzip) a context may hold by default. */
export const DEFAULT_CONTEXT_LIMIT = 8 * 1024 ** 3;
/** Entries a context may hold by default (each is a file or directory on disk). */
export const DEFAULT_ENTRY_LIMIT = 1_000_000;
/** Metadata entries (long names, pax records) are read into memory: this much at most. */
const MAX_METADATA = 1024 * 1024;
const BLOCK = 512;
const MAX_SYMLINK_HOPS = 40;

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

/** A context refused: Docker's 400 with what was wrong. */
export class BuildContextError extends ApiError {
  constructor(message: string) {
    super("invalid-parameter", message);
  }
}

const refuse = (message: string) => new BuildContextError(message);

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
    const extractor = new Extractor(dir.context, options.maxBytes ?? DEFAULT_CONTEXT_LIMIT, options.maxEntries ?? DEFAULT_ENTRY_LIMIT);
    await extractor.run(await decompressed(source));
    if (options.signal?.aborted) throw new Error("the client went away before sending the whole build context");
    return dir;
  } catch (error) {
    // Whatever is left of a refused body is read and dropped, so the client gets its answer.
    if (!body.destroyed && !body.readableEnded) void drain(source);
    await dir.remove();
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

async function drain(source: AsyncIterator<unknown>): Promise<void> {
  try {
    while (!(await source.next()).done);
  } catch {
    // the client went away: nothing left to read
  }
}

// --- decompression -----------------------------------------------------------------------

const toBuffer = (chunk: Buffer | string): Buffer => (typeof chunk === "string" ? Buffer.from(chunk) : chunk);

/** The body's bytes, gunzipped when they start with gzip's magic number. */
async function decompressed(source: AsyncIterator<Buffer | string>): Promise<AsyncIterable<Buffer>> {
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  while (headLength < 6) {
    const next = await source.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(toBuffer(next.value));
    headLength += head.at(-1)!.length;
  }
  const start = Buffer.concat(head);
  async function* all(): AsyncGenerator<Buffer> {
    if (start.length > 0) yield start;
    if (ended) return;
    for (let next = await source.next(); !next.done; next = await source.next()) yield toBuffer(next.value);
  }
  if (start[0] === 0x1f && start[1] === 0x8b) return gunzip(all());
  if (start.subarray(0, 3).toString("latin1") === "BZh") throw refuse("the build context is bzip2-compressed: send a plain or gzip-compressed tar archive");
  if (start.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) {
    throw refuse("the build context is xz-compressed: send a plain or gzip-compressed tar archive");
  }
  return all();
}

/** Gunzips with back-pressure: the source is read only as fast as the output is consumed. */
async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const inflater = createGunzip();
  let failed: unknown;
  const writable = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        inflater.off("drain", done);
        inflater.off("close", done);
        resolve();
      };
      inflater.on("drain", done);
      inflater.on("close", done);
    });
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        if (inflater.destroyed) return;
        if (!inflater.write(chunk)) await writable();
      }
      if (!inflater.destroyed) inflater.end();
    } catch (error) {
      failed = error;
      inflater.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    if (failed) throw failed;
    throw refuse(`the build context is not a valid gzip stream: ${(error as Error).message}`);
  } finally {
    inflater.destroy();
    await feeding;
  }
  if (failed) throw failed;
}

// --- reading the archive -------------------------------------------------------------------

/** Exact reads over a chunked stream, counting what was read against a limit. */
class ByteReader {
  readonly #iterator: AsyncIterator<Buffer>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;
  consumed = 0;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly limit: number,
  ) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const next = await this.#iterator.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    this.#buffer = this.#buffer.length === 0 ? next.value : Buffer.concat([this.#buffer, next.value]);
    return true;
  }

  #take(n: number): Buffer {
    const taken = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    this.consumed += n;
    if (this.consumed > this.limit) throw refuse(`the build context is larger than ${this.limit} bytes`);
    return taken;
  }

  /** n bytes; undefined when the stream ends before the first of them. */
  async exact(n: number): Promise<Buffer | undefined> {
    while (this.#buffer.length < n) {
      if (!(await this.#fill())) {
        if (this.#buffer.length === 0) return undefined;
        throw refuse("the build context is not a valid tar archive: unexpected end of data");
      }
    }
    return Buffer.from(this.#take(n));
  }

  /** Hands n bytes to sink in the pieces they arrive in. */
  async copy(n: number, sink: (piece: Buffer) => Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buffer.length === 0 && !(await this.#fill())) {
        throw refuse("the build context is not a valid tar archive: unexpected end of data");
      }
      const piece = this.#take(Math.min(left, this.#buffer.length));
      left -= piece.length;
      await sink(piece);
    }
  }

  /** Reads and drops everything left (the zero padding after the end of an archive). */
  async drain(): Promise<void> {
    this.#take(this.#buffer.length);
    while (await this.#fill()) this.#take(this.#buffer.length);
  }
}

interface Header {
  name: string;
  linkname: string;
  mode: number;
  size: number;
  mtime: number;
  type: string;
}

function cString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return (end === -1 ? field : field.subarray(0, end)).toString("utf8");
}

/** A numeric field: octal text, or GNU's base-256 when the high bit is set. */
function numeric(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) throw refuse("the build context is not a valid tar archive: negative number in a header");
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    if (!Number.isSafeInteger(value)) throw refuse("the build context is not a valid tar archive: number out of range in a header");
    return value;
  }
  const text = field.toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw refuse("the build context is not a valid tar archive: invalid header");
  return Number.parseInt(text, 8);
}

function checksumMatches(block: Buffer): boolean {
  const field = block.subarray(148, 156).toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = Number.parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

function parseHeader(block: Buffer): Header {
  if (!checksumMatches(block)) throw refuse("the build context is not a valid tar archive: header checksum mismatch");
  let name = cString(block, 0, 100);
  // POSIX ustar keeps the start of long names in a prefix field; old GNU headers use those bytes otherwise.
  if (block.subarray(257, 263).toString("latin1") === "ustar\0") {
    const prefix = cString(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    linkname: cString(block, 157, 100),
    mode: numeric(block, 100, 8),
    size: numeric(block, 124, 12),
    mtime: numeric(block, 136, 12),
    type: String.fromCharCode(block[156]!),
  };
}

/** pax extended header records (`<length> <key>=<value>\n`). */
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? Number.NaN : Number.parseInt(data.subarray(at, space).toString("latin1"), 10);
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw refuse("the build context is not a valid tar archive: invalid pax header");
    }
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    if (equals <= 0) throw refuse("the build context is not a valid tar archive: invalid pax header");
    records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

const describe = (value: string) => JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);

/**
 * An entry's path inside the context, as components; refuses absolute paths and
 * any `..`. An empty list is the context's root itself (`./`).
 */
export function entryComponents(raw: string, what = "entry"): string[] {
  if (raw.includes("\0")) throw refuse(`build context ${what} ${describe(raw)} contains a NUL character`);
  if (raw.startsWith("/")) throw refuse(`build context ${what} ${describe(raw)} is an absolute path`);
  const parts = raw.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw refuse(`build context ${what} ${describe(raw)} points outside the context`);
  return parts;
}

/** A symbolic link's target, read lexically from where the link is: refused when absolute or climbing out. */
export function checkSymlinkTarget(linkPath: string[], target: string): void {
  const shown = `${describe(linkPath.join("/"))} -> ${describe(target)}`;
  if (target === "") throw refuse(`build context symbolic link ${shown} has an empty target`);
  if (target.startsWith("/")) throw refuse(`build context symbolic link ${shown} points outside the context (absolute target)`);
  let depth = linkPath.length - 1;
  for (const part of target.split("/")) {
    if (part === "..") depth -= 1;
    else if (part !== "" && part !== ".") depth += 1;
    if (depth < 0) throw refuse(`build context symbolic link ${shown} points outside the context`);
  }
}

type Kind = "file" | "directory" | "symlink" | "other";

class Extractor {
  /** Directories known to be real directories (made or checked here): never replaced later. */
  readonly #directories = new Set<string>([""]);
  /** Directory entries, to give them their mode and time once everything is written. */
  readonly #directoryModes = new Map<string, { mode: number; mtime: number }>();
  /** Every symbolic link made (or hard-linked), checked again once the tree is complete. */
  readonly #symlinks = new Set<string>();
  #entries = 0;

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
    private readonly maxEntries: number,
  ) {}

  async run(source: AsyncIterable<Buffer>): Promise<void> {
    const reader = new ByteReader(source, this.maxBytes);
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax = new Map<string, string>();
    let sawEnd = false;
    /**
     * The zero padding after an entry's data. Like Go's archive/tar (dockerd),
     * an archive may end right after the last entry's data: the docker CLI
     * sends one so when it adds a Dockerfile from outside the context.
     */
    const padding = async (size: number): Promise<boolean> => {
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      return pad === 0 || (await reader.exact(pad)) !== undefined;
    };
    entries: for (;;) {
      const block = await reader.exact(BLOCK);
      if (!block) break;
      if (block.every((byte) => byte === 0)) {
        sawEnd = true;
        break;
      }
      const header = parseHeader(block);
      switch (header.type) {
        case "L":
        case "K":
        case "x": {
          if (header.size > MAX_METADATA) throw refuse("the build context has a tar metadata entry larger than 1 MiB");
          const content = (await reader.exact(header.size)) ?? Buffer.alloc(0);
          if (content.length < header.size) throw refuse("the build context is not a valid tar archive: unexpected end of data");
          if (header.type === "L") longName = cString(content, 0, content.length);
          else if (header.type === "K") longLink = cString(content, 0, content.length);
          else {
            pax = new Map([...pax, ...parsePax(content)]);
            if ([...pax.keys()].some((key) => key.startsWith("GNU.sparse."))) throw refuse("the build context holds a sparse file, which is not supported");
          }
          if (!(await padding(header.size))) throw refuse("the build context is not a valid tar archive: unexpected end of data");
          continue;
        }
        case "g":
          // Global pax headers (git archive's comment): nothing in them changes where entries go.
          await reader.copy(header.size, async () => {});
          if (!(await padding(header.size))) break entries;
          continue;
      }
      const name = pax.get("path") ?? longName ?? header.name;
      const linkname = pax.get("linkpath") ?? longLink ?? header.linkname;
      const size = pax.has("size") ? Number(pax.get("size")) : header.size;
      const mtime = pax.has("mtime") ? Number(pax.get("mtime")) : header.mtime;
      if (!Number.isSafeInteger(size) || size < 0) throw refuse("the build context is not a valid tar archive: invalid size");
      longName = undefined;
      longLink = undefined;
      pax = new Map();
      if (++this.#entries > this.maxEntries) throw refuse(`the build context has more than ${this.maxEntries} entries`);
      const entry = { name, linkname, mode: header.mode & 0o7777, size, mtime: Number.isFinite(mtime) ? mtime : 0, type: header.type };
      switch (entry.type) {
        case "0":
        case "\0":
        case "7":
          await this.#file(entry, reader);
          break;
        case "5":
          await this.#directory(entry);
          await reader.copy(size, async () => {});
          break;
        case "2":
          await this.#symlink(entry);
          await reader.copy(size, async () => {});
          break;
        case "1":
          await this.#hardlink(entry);
          await reader.copy(size, async () => {});
          break;
        case "3":
        case "4":
        case "6":
          throw refuse(`build context entry ${describe(name)} is a device or FIFO, which a build context cannot hold`);
        default:
          throw refuse(`build context entry ${describe(name)} has an unsupported tar type ${JSON.stringify(entry.type)}`);
      }
      if (!(await padding(size))) break;
    }
    // After the end block comes padding (the second end block is optional in practice); without one,
    // the archive ended at an entry boundary, which Go's archive/tar accepts too.
    if (sawEnd) await reader.drain();
    await this.#checkSymlinks();
    await this.#applyDirectoryModes();
  }

  #path(parts: readonly string[]): string {
    return join(this.root, ...parts);
  }

  async #kind(parts: readonly string[]): Promise<Kind | undefined> {
    try {
      const stat = await lstat(this.#path(parts));
      return stat.isSymbolicLink() ? "symlink" : stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other";
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Makes (or checks) each directory of parts: never through a symbolic link or over a file. */
  async #ensureDirectories(parts: readonly string[], entryName: string, create = true): Promise<void> {
    for (let i = 1; i <= parts.length; i++) {
      const key = parts.slice(0, i).join("/");
      if (this.#directories.has(key)) continue;
      const kind = await this.#kind(parts.slice(0, i));
      if (kind === undefined) {
        if (!create) throw refuse(`build context entry ${describe(entryName)}: ${describe(key)} does not exist`);
        await mkdir(this.#path(parts.slice(0, i)), { mode: 0o755 });
      } else if (kind === "symlink") {
        throw refuse(`build context entry ${describe(entryName)} goes through the symbolic link ${describe(key)}`);
      } else if (kind !== "directory") {
        throw refuse(`build context entry ${describe(entryName)}: ${describe(key)} is not a directory`);
      }
      this.#directories.add(key);
    }
  }

  /** Clears the place of a new non-directory entry (a later entry of the same name replaces an earlier one, as tar does). */
  async #clear(parts: string[], entryName: string): Promise<void> {
    const kind = await this.#kind(parts);
    if (kind === "directory") throw refuse(`build context entry ${describe(entryName)} would replace a directory`);
    if (kind !== undefined) {
      await unlink(this.#path(parts));
      this.#symlinks.delete(parts.join("/"));
    }
  }

  async #file(entry: Header, reader: ByteReader): Promise<void> {
    const parts = entryComponents(entry.name);
    if (parts.length === 0) throw refuse(`build context entry ${describe(entry.name)} is a file at the context's root`);
    await this.#ensureDirectories(parts.slice(0, -1), entry.name);
    await this.#clear(parts, entry.name);
    const handle = await open(this.#path(parts), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await reader.copy(entry.size, async (piece) => {
        for (let written = 0; written < piece.length; ) written += (await handle.write(piece, written)).bytesWritten;
      });
      await handle.chmod(entry.mode);
      await handle.utimes(entry.mtime, entry.mtime);
    } finally {
      await handle.close();
    }
  }

  async #directory(entry: Header): Promise<void> {
    const parts = entryComponents(entry.name);
    if (parts.length === 0) return;
    await this.#ensureDirectories(parts, entry.name);
    this.#directoryModes.set(parts.join("/"), { mode: entry.mode, mtime: entry.mtime });
  }

  async #symlink(entry: Header): Promise<void> {
    const parts = entryComponents(entry.name);
    if (parts.length === 0) throw refuse(`build context entry ${describe(entry.name)} is a symbolic link at the context's root`);
    if (entry.linkname.includes("\0")) throw refuse(`build context symbolic link ${describe(entry.name)} has a NUL in its target`);
    checkSymlinkTarget(parts, entry.linkname);
    await this.#ensureDirectories(parts.slice(0, -1), entry.name);
    await this.#clear(parts, entry.name);
    await symlink(entry.linkname, this.#path(parts));
    this.#symlinks.add(parts.join("/"));
  }

  async #hardlink(entry: Header): Promise<void> {
    const parts = entryComponents(entry.name);
    const target = entryComponents(entry.linkname, "hard link target");
    if (parts.length === 0 || target.length === 0) throw refuse(`build context hard link ${describe(entry.name)} -> ${describe(entry.linkname)} is invalid`);
    await this.#ensureDirectories(target.slice(0, -1), entry.linkname, false);
    const kind = await this.#kind(target);
    if (kind === undefined) throw refuse(`build context hard link ${describe(entry.name)} points to ${describe(entry.linkname)}, which is not in the context before it`);
    if (kind === "directory") throw refuse(`build context hard link ${describe(entry.name)} points to the directory ${describe(entry.linkname)}`);
    await this.#ensureDirectories(parts.slice(0, -1), entry.name);
    if (parts.join("/") === target.join("/")) return;
    await this.#clear(parts, entry.name);
    await link(this.#path(target), this.#path(parts));
    // A hard link to a symbolic link is that link again, somewhere else: its target now reads from there.
    if (kind === "symlink") this.#symlinks.add(parts.join("/"));
  }

  /**
   * Each symbolic link resolved as the kernel would within the finished tree
   * (links through links, `..` after a link): none may end outside the context.
   */
  async #checkSymlinks(): Promise<void> {
    for (const key of this.#symlinks) {
      const parts = key.split("/");
      if ((await this.#kind(parts)) !== "symlink") continue;
      const escape = await this.#resolvesOutside(parts.slice(0, -1), await readlink(this.#path(parts)), { hops: 0 });
      if (escape) throw refuse(`build context symbolic link ${describe(key)} ${escape}`);
    }
  }

  async #resolvesOutside(stack: string[], target: string, state: { hops: number }): Promise<string | undefined> {
    if (target.startsWith("/")) return "points outside the context (absolute target)";
    for (const part of target.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (stack.length === 0) return "points outside the context";
        stack.pop();
        continue;
      }
      stack.push(part);
      if ((await this.#kind(stack)) !== "symlink") continue;
      if (++state.hops > MAX_SYMLINK_HOPS) return "is part of a loop of symbolic links";
      const next = await readlink(this.#path(stack));
      stack.pop();
      const escape = await this.#resolvesOutside(stack, next, state);
      if (escape) return escape;
    }
    return undefined;
  }

  /** Directory modes last (a read-only directory would refuse its own entries); the owner keeps rwx, so cleanup works. */
  async #applyDirectoryModes(): Promise<void> {
    const deepestFirst = [...this.#directoryModes].sort(([a], [b]) => b.split("/").length - a.split("/").length);
    for (const [key, { mode, mtime }] of deepestFirst) {
      const path = this.#path(key.split("/"));
      await chmod(path, mode | 0o700);
      await utimes(path, mtime, mtime);
    }
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
