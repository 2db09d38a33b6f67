/**
 * A tar archive read as its bytes go by, in whatever chunks they come:
 * pax records and GNU long names are folded into the entry they describe,
 * bodies are handed on as slices of the chunks (never copied, never held), and
 * an archive that breaks a rule stops with an error saying what is wrong.
 */
import { badParameter, type ApiError } from "../errors.ts";
import { BLOCK, cString, decodeHeader, isZeroBlock, MalformedTar, paddingAfter, parsePax, type TarHeader } from "./tar-format.ts";

const EMPTY = Buffer.alloc(0);

/** Metadata records (long names, pax records) are held until their entry: this much at most. */
const MAX_METADATA = 1024 * 1024;

export interface TarListener {
  /** Every header block as it goes by, raw: metadata records' and the end marker's included. */
  block?(block: Buffer): void;
  /** A metadata record's body as it goes by. */
  metadata?(piece: Buffer): void;
  /** An entry begins (pax records and long names applied). */
  entry(header: TarHeader): void;
  /** The next bytes of the current entry's body. */
  data(piece: Buffer): void;
  /** The current entry's body is complete. */
  entryEnd?(): void;
}

export interface TarParserOptions {
  /** What the archive is, for its errors: "the build context". */
  subject: string;
  /** Bytes the archive may take, end marker and trailing padding included. */
  maxBytes?: number;
}

type State =
  | { at: "header" }
  /** Inside a body: an entry's, a metadata record's or a global pax header's (skipped). */
  | { at: "body"; record: "entry" | "metadata" | "global"; left: number; padding: number }
  | { at: "padding"; record: "entry" | "metadata" | "global"; left: number; started: boolean }
  /** After the first zero block: the second one makes the archive complete. */
  | { at: "end" }
  | { at: "done" };

export class TarParser {
  readonly #listener: TarListener;
  readonly #subject: string;
  readonly #maxBytes: number;
  #state: State = { at: "header" };
  /** Bytes of a header block still incomplete. */
  #pending: Buffer = EMPTY;
  #consumed = 0;
  #complete = false;
  #metadata: { type: string; chunks: Buffer[] } | undefined;
  #longName: string | undefined;
  #longLink: string | undefined;
  #pax = new Map<string, string>();

  constructor(listener: TarListener, options: TarParserOptions) {
    this.#listener = listener;
    this.#subject = options.subject;
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  /** The end-of-archive marker (two zero blocks) went by. */
  get complete(): boolean {
    return this.#complete;
  }

  /** The start of a header block not complete yet. */
  get pending(): Buffer {
    return this.#pending;
  }

  /** Reads the next chunk; throws (an invalid-parameter ApiError) when the archive breaks a rule. */
  feed(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      const state = this.#state;
      switch (state.at) {
        case "header":
        case "end": {
          // A whole block in the chunk is read in place; one split across chunks is gathered first.
          const taken = Math.min(BLOCK - this.#pending.length, data.length);
          const block = this.#pending.length === 0 && taken === BLOCK ? data.subarray(0, BLOCK) : Buffer.concat([this.#pending, data.subarray(0, taken)]);
          this.#count(taken);
          data = data.subarray(taken);
          if (block.length < BLOCK) {
            this.#pending = block;
            return;
          }
          this.#pending = EMPTY;
          this.#block(block);
          continue;
        }
        case "body": {
          const piece = data.length > state.left ? data.subarray(0, state.left) : data;
          this.#count(piece.length);
          data = data.subarray(piece.length);
          state.left -= piece.length;
          if (state.record === "entry") this.#listener.data(piece);
          else if (state.record === "metadata") {
            this.#listener.metadata?.(piece);
            this.#metadata!.chunks.push(Buffer.from(piece));
          }
          if (state.left === 0) this.#bodyEnd(state);
          continue;
        }
        case "padding": {
          const taken = Math.min(state.left, data.length);
          this.#count(taken);
          data = data.subarray(taken);
          state.left -= taken;
          state.started = true;
          if (state.left === 0) this.#state = { at: "header" };
          continue;
        }
        case "done":
          this.#count(data.length);
          return;
      }
    }
  }

  /** The archive's bytes have all come: throws when they stopped inside a record. */
  end(): void {
    const state = this.#state;
    const cut =
      (state.at === "header" && this.#pending.length > 0) ||
      state.at === "body" ||
      (state.at === "padding" && (state.started || state.record === "metadata"));
    if (cut) throw this.#invalid("unexpected end of data");
  }

  #count(bytes: number): void {
    this.#consumed += bytes;
    if (this.#consumed > this.#maxBytes) throw badParameter(`${this.#subject} is larger than ${this.#maxBytes} bytes`);
  }

  #invalid(reason: string): ApiError {
    return badParameter(`${this.#subject} is not a valid tar archive: ${reason}`);
  }

  #block(block: Buffer): void {
    this.#listener.block?.(block);
    if (this.#state.at === "end") {
      // Past the first zero block nothing is read any more: a second one only makes the archive whole.
      this.#complete = isZeroBlock(block);
      this.#state = { at: "done" };
      return;
    }
    if (isZeroBlock(block)) {
      this.#state = { at: "end" };
      return;
    }
    let header: TarHeader;
    try {
      header = decodeHeader(block);
    } catch (error) {
      if (error instanceof MalformedTar) throw this.#invalid(error.reason);
      throw error;
    }
    switch (header.type) {
      case "L":
      case "K":
      case "x":
        if (header.size > MAX_METADATA) throw badParameter(`${this.#subject} has a tar metadata entry larger than 1 MiB`);
        this.#metadata = { type: header.type, chunks: [] };
        return this.#startBody("metadata", header.size);
      case "g":
        // Global pax headers (git archive's comment): nothing in them changes where entries go.
        return this.#startBody("global", header.size);
    }
    const size = this.#pax.has("size") ? Number(this.#pax.get("size")) : header.size;
    const mtime = this.#pax.has("mtime") ? Number(this.#pax.get("mtime")) : header.mtime;
    if (!Number.isSafeInteger(size) || size < 0) throw this.#invalid("invalid size");
    const atime = Number(this.#pax.get("atime"));
    this.#listener.entry({
      ...header,
      name: this.#pax.get("path") ?? this.#longName ?? header.name,
      linkname: this.#pax.get("linkpath") ?? this.#longLink ?? header.linkname,
      size,
      mtime: Number.isFinite(mtime) ? mtime : 0,
      uid: this.#paxId("uid") ?? header.uid,
      gid: this.#paxId("gid") ?? header.gid,
      ...(Number.isFinite(atime) ? { atime } : {}),
    });
    this.#longName = undefined;
    this.#longLink = undefined;
    this.#pax = new Map();
    this.#startBody("entry", size);
  }

  /** A pax uid or gid (for ids octal cannot hold); undefined when absent or not a number. */
  #paxId(key: "uid" | "gid"): number | undefined {
    const value = this.#pax.get(key);
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
  }

  #startBody(record: "entry" | "metadata" | "global", size: number): void {
    const state = { at: "body" as const, record, left: size, padding: paddingAfter(size) };
    if (size > 0) this.#state = state;
    else this.#bodyEnd(state);
  }

  #bodyEnd(state: Extract<State, { at: "body" }>): void {
    if (state.record === "entry") this.#listener.entryEnd?.();
    if (state.record === "metadata") this.#applyMetadata();
    this.#state = state.padding > 0 ? { at: "padding", record: state.record, left: state.padding, started: false } : { at: "header" };
  }

  #applyMetadata(): void {
    const { type, chunks } = this.#metadata!;
    this.#metadata = undefined;
    const content = Buffer.concat(chunks);
    if (type === "L") this.#longName = cString(content, 0, content.length);
    else if (type === "K") this.#longLink = cString(content, 0, content.length);
    else {
      try {
        this.#pax = new Map([...this.#pax, ...parsePax(content)]);
      } catch (error) {
        if (error instanceof MalformedTar) throw this.#invalid(error.reason);
        throw error;
      }
      if ([...this.#pax.keys()].some((key) => key.startsWith("GNU.sparse."))) throw badParameter(`${this.#subject} holds a sparse file, which is not supported`);
    }
  }
}
