import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";

/*
 * The daemon's log: one line per record, as text (`<time> nerdctld: <msg> key=value…`,
 * no level: the text log has never had one) or JSON (`{"time","level","msg",…fields}`). A record made while a request is
 * being served, however deep (an engine call, a crash report), carries that
 * request's id.
 */

export type LogFormat = "text" | "json";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  (msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const requests = new AsyncLocalStorage<string>();

/** A short random id for one request. */
export function newRequestId(): string {
  return randomBytes(6).toString("hex");
}

/** Runs `work` (and everything it starts) as part of the request `id`. */
export function inRequest<T>(id: string, work: () => T): T {
  return requests.run(id, work);
}

/** Runs `work` (and everything it starts) as no request's: what the daemon owns past the request that began it. */
export function outsideRequest<T>(work: () => T): T {
  return requests.exit(work);
}

/** The id of the request being served here, if any. */
export function currentRequestId(): string | undefined {
  return requests.getStore();
}

/** A text word stays bare when it needs no quoting, as logfmt writes it. */
function textValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function formatRecord(format: LogFormat, time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const defined = Object.entries(fields).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined);
  if (format === "json") return JSON.stringify({ time: time.toISOString(), level, msg, ...Object.fromEntries(defined) });
  const words = defined.map(([name, value]) => `${name}=${textValue(value)}`);
  return [`${time.toISOString()} nerdctld: ${msg}`, ...words].join(" ");
}

/** A logger writing one line per record; `write` gets each line with its newline. */
export function createLogger(format: LogFormat, write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const at = (level: LogLevel) => (msg: string, fields: LogFields = {}) =>
    write(`${formatRecord(format, now(), level, msg, { ...fields, request_id: fields.request_id ?? currentRequestId() })}\n`);
  return Object.assign(at("info"), { debug: at("debug"), warn: at("warn"), error: at("error") });
}
