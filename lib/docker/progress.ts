/**
 * Docker's JSON progress messages (moby's jsonmessage.JSONMessage), as the
 * docker CLI renders them: one JSON document per line, `\r\n`-terminated, keys
 * in Go's field order, `<`, `>` and `&` escaped as Go's encoder does, so the
 * bytes match what dockerd sends for the same event.
 */

export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface JSONMessage {
  stream?: string;
  status?: string;
  progressDetail?: ProgressDetail;
  progress?: string;
  id?: string;
  errorDetail?: { code?: number; message: string };
  error?: string;
  aux?: unknown;
}

/** Go's JSONMessage field order. */
const FIELD_ORDER: (keyof JSONMessage)[] = ["stream", "status", "progressDetail", "progress", "id", "errorDetail", "error", "aux"];

/** Go's json.Marshal escapes these (HTML safety); clients do not care, bytes do. */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** One message as dockerd writes it: a JSON line ending in `\r\n`. */
export function encodeMessage(message: JSONMessage): string {
  const ordered: Record<string, unknown> = {};
  for (const key of FIELD_ORDER) if (message[key] !== undefined) ordered[key] = message[key];
  return `${goEscape(JSON.stringify(ordered))}\r\n`;
}

/** A plain status line, optionally about one item (a layer, a tag). */
export function statusMessage(status: string, id?: string): JSONMessage {
  return id === undefined ? { status } : { status, id };
}

/** A per-item status without numbers (`Preparing`, `Pull complete`): dockerd sends an empty progressDetail. */
export function itemMessage(status: string, id: string): JSONMessage {
  return { status, progressDetail: {}, id };
}

/** A per-item progress update, with the bar dockerd renders for API users. */
export function progressMessage(status: string, id: string, current: number, total: number): JSONMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/** A failure inside a stream that has already started (HTTP status 200 was sent). */
export function errorMessage(message: string): JSONMessage {
  return { errorDetail: { message }, error: message };
}

/** Build- and load-style output (`Loaded image: …`). */
export function streamMessage(text: string): JSONMessage {
  return { stream: text };
}

/** Structured data for the client (push's {Tag, Digest, Size}). */
export function auxMessage(aux: unknown): JSONMessage {
  return { progressDetail: {}, aux };
}

const DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** go-units HumanSize: four significant digits, decimal units (`43.01kB`, `1.984MB`). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    unit += 1;
  }
  // %.4g: four significant digits, trailing zeros dropped.
  const digits = Number.parseFloat(size.toPrecision(4)).toString();
  return `${digits}${DECIMAL_UNITS[unit]}`;
}

/** moby's JSONProgress.String() for a non-terminal (width 200): `[==>   ]  43.01kB/1.984MB`. */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) return humanSize(current).padStart(8);
  const percentage = Math.min(50, Math.trunc(Math.trunc((current / total) * 100) / 2));
  const bar = `[${"=".repeat(percentage)}>${" ".repeat(Math.max(0, 50 - percentage))}] `;
  const numbers =
    current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/** Docker's messages as something produces them; kill() ends it early (the client stopped reading). */
export interface MessageStream {
  messages: AsyncIterable<JSONMessage> | Iterable<JSONMessage>;
  kill(): void;
}
