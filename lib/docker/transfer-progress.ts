/**
 * nerdctl's pull and push progress (containerd's transfer-service tree, and
 * nerdctl's jobs table) as the JSON messages dockerd sends for the same
 * events: one message per change of a layer's state.
 */
import { itemMessage, progressMessage, statusMessage, auxMessage, type JSONMessage } from "./progress.ts";
import { familiarString, referenceName, type ImageReference } from "../reference.ts";

const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;
const BINARY_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** containerd's progress.Bytes (`16.9 MiB`, `0.0 B`, truncated `1023.9 K`) back to a byte count. */
export function parseProgressBytes(text: string): number | undefined {
  const match = /^\s*([\d.]+)\s*([KMGTP]?)/.exec(text);
  if (!match) return undefined;
  const value = Number.parseFloat(match[1]!);
  return Number.isFinite(value) ? Math.round(value * BINARY_UNITS[match[2]!]!) : undefined;
}

/** One row of a progress table, whatever its layout. */
interface ProgressRow {
  kind: "layer" | "manifest" | "index" | "config" | "other";
  /** Hex digits of the blob digest the row names (possibly truncated by nerdctl's 40-column names). */
  hex: string;
  event: string;
  current?: number;
  total?: number;
}

/**
 * A row of the transfer service's tree (nerdctl pull): `   ├──layer-sha256:ab…\textracting \t|++--|\t16.9 MiB/64.0 MiB\t`.
 * Names are cut at 40 characters, tree prefix included: at least 18 hex digits survive.
 */
function parseTreeRow(line: string): ProgressRow | undefined {
  const fields = line.split("\t");
  if (fields.length < 2) return undefined;
  const name = fields[0]!.replace(/^[\s│├└─]+/u, "");
  const match = /^(layer|manifest|index|config)-(?:[^@\s]*@)?sha256:([0-9a-f]+)/.exec(name);
  if (!match) return undefined;
  const row: ProgressRow = { kind: match[1] as ProgressRow["kind"], hex: match[2]!, event: fields[1]!.trim() };
  const numbers = fields.slice(2).find((field) => field.includes("/") && !field.includes("|"));
  if (numbers) {
    const [current, total] = numbers.split("/");
    row.current = parseProgressBytes(current!);
    row.total = parseProgressBytes(total!);
  }
  return row;
}

/** A row of nerdctl's jobs table (nerdctl push): `layer-sha256:<hex>:   uploading   |--|   0.0 B/2.0 MiB`. */
function parseJobRow(line: string): ProgressRow | undefined {
  const match = /^(layer|manifest|index|config)-(?:[^@\s]*@)?sha256:([0-9a-f]{64}):\s+(\S+)\s+\|[^|]*\|\s*(?:(\S+ ?[A-Za-z]*)\/(\S+ ?[A-Za-z]*))?/.exec(line);
  if (!match) return undefined;
  return {
    kind: match[1] as ProgressRow["kind"],
    hex: match[2]!,
    event: match[3]!,
    ...(match[4] !== undefined ? { current: parseProgressBytes(match[4]), total: parseProgressBytes(match[5]!) } : {}),
  };
}

/** The media type and digest line the transfer service prints under its tree. */
const ROOT_DESCRIPTOR_RE = /^application\/\S+ (sha256:[0-9a-f]{64})\s*$/;

/** Docker shows layers by the first 12 hex digits of their digest. */
function shortId(hex: string): string {
  return hex.slice(0, 12);
}

/**
 * nerdctl pull's progress (containerd's transfer-service tree, one whole frame
 * per event) as dockerd's pull messages: one line per change of a layer's state.
 */
export class PullProgress {
  readonly #ref: ImageReference;
  readonly #layers = new Map<string, string>();
  #digest: string | undefined;

  constructor(ref: ImageReference) {
    this.#ref = ref;
  }

  /** The digest the reference resolved to (index or manifest), once nerdctl printed it. */
  get digest(): string | undefined {
    return this.#digest;
  }

  /** `v1: Pulling from busybox`: the reference resolved, layers follow. */
  start(): JSONMessage[] {
    return [statusMessage(`Pulling from ${familiarPath(this.#ref)}`, this.#ref.tag ?? this.#ref.digest)];
  }

  line(raw: string): JSONMessage[] {
    const line = raw.replace(ANSI_RE, "").replace(/\r$/, "");
    const root = ROOT_DESCRIPTOR_RE.exec(line);
    if (root) {
      this.#digest = root[1];
      return [];
    }
    const row = parseTreeRow(line);
    if (!row || row.kind !== "layer" || row.hex.length < 12) return [];
    const id = shortId(row.hex);
    const previous = this.#layers.get(id);
    const messages: JSONMessage[] = [];
    const set = (state: string, message: JSONMessage) => {
      this.#layers.set(id, state);
      messages.push(message);
    };
    if (previous === undefined && row.event !== "already exists") set("waiting", itemMessage("Pulling fs layer", id));
    switch (row.event) {
      case "waiting":
        break;
      case "downloading":
        if (row.current !== undefined && row.total !== undefined && this.#layers.get(id) !== `downloading ${row.current}`) {
          set(`downloading ${row.current}`, progressMessage("Downloading", id, row.current, row.total));
        }
        break;
      case "complete":
        if (this.#layers.get(id) !== "complete") set("complete", itemMessage("Download complete", id));
        break;
      case "extracting":
        if (row.current !== undefined && row.total !== undefined && this.#layers.get(id) !== `extracting ${row.current}`) {
          set(`extracting ${row.current}`, progressMessage("Extracting", id, row.current, row.total));
        }
        break;
      case "extracted":
        if (this.#layers.get(id) !== "done") set("done", itemMessage("Pull complete", id));
        break;
      case "already exists":
        if (previous === undefined) set("done", itemMessage("Already exists", id));
        break;
    }
    return messages;
  }

  /**
   * After nerdctl succeeded: layers it fetched without unpacking are complete,
   * then dockerd's `Digest:` and `Status:` lines. previousDigest is what the
   * name pointed at before the pull (undefined when it did not exist).
   */
  finish(previousDigest: string | undefined): JSONMessage[] {
    const messages: JSONMessage[] = [];
    for (const [id, state] of this.#layers) {
      if (state !== "done") messages.push(itemMessage("Pull complete", id));
      this.#layers.set(id, "done");
    }
    if (this.#digest) messages.push(statusMessage(`Digest: ${this.#digest}`));
    const upToDate = previousDigest !== undefined && previousDigest === this.#digest;
    messages.push(statusMessage(`Status: ${upToDate ? "Image is up to date" : "Downloaded newer image"} for ${familiarString(this.#ref)}`));
    return messages;
  }
}

/** `Pulling from library/busybox`: the repository path, without the registry. */
function familiarPath(ref: ImageReference): string {
  return ref.path;
}

/** What a finished push reports: the pushed manifest (or index) and its size in bytes. */
export interface PushResult {
  tag: string;
  digest: string;
  size?: number;
}

/**
 * nerdctl push's progress (nerdctl's jobs table, one frame every 100 ms) as
 * dockerd's push messages: Preparing, Pushing with progress, Pushed; then the
 * `<tag>: digest: … size: …` line and its aux record.
 */
export class PushProgress {
  readonly #ref: ImageReference;
  readonly #layers = new Map<string, string>();

  constructor(ref: ImageReference) {
    this.#ref = ref;
  }

  /** `The push refers to repository [127.0.0.1:5000/busybox]` */
  start(): JSONMessage[] {
    return [statusMessage(`The push refers to repository [${referenceName(this.#ref)}]`)];
  }

  line(raw: string): JSONMessage[] {
    const row = parseJobRow(raw.replace(ANSI_RE, "").trimEnd());
    if (!row || row.kind !== "layer") return [];
    const id = shortId(row.hex);
    const messages: JSONMessage[] = [];
    if (!this.#layers.has(id)) {
      this.#layers.set(id, "preparing");
      messages.push(itemMessage("Preparing", id));
    }
    const state = this.#layers.get(id);
    if (row.event === "uploading" && row.current !== undefined && row.total !== undefined && state !== `pushing ${row.current}`) {
      this.#layers.set(id, `pushing ${row.current}`);
      messages.push(progressMessage("Pushing", id, row.current, row.total));
    } else if (row.event === "done" && state !== "done") {
      this.#layers.set(id, "done");
      messages.push(itemMessage("Pushed", id));
    }
    return messages;
  }

  /** Every layer pushed, then the digest line and {Tag, Digest, Size}. */
  finish(result: PushResult): JSONMessage[] {
    const messages: JSONMessage[] = [];
    for (const [id, state] of this.#layers) if (state !== "done") messages.push(itemMessage("Pushed", id));
    const size = result.size === undefined ? "" : ` size: ${result.size}`;
    messages.push(statusMessage(`${result.tag}: digest: ${result.digest}${size}`));
    messages.push(auxMessage({ Tag: result.tag, Digest: result.digest, ...(result.size === undefined ? {} : { Size: result.size }) }));
    return messages;
  }
}
