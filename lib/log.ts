import { randomBytes } from "node:crypto";

/*
 * The daemon's log: one line per record, as text (`<time> nerdctld: <msg> key=value…`,
 * no level: the text log has never had one) or JSON (`{"time","level","msg",…fields}`). A record about a
 * request (its own line, an engine call made for it, a crash report) carries
 * the request's id in `request_id`, which the caller gives.
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

const ID_BYTES = 6;
/** Random bytes for ids, drawn a few hundred ids at a time (one draw per request costs a system call). */
let idPool = Buffer.alloc(0);
let idOffset = 0;

/** A short random id for one request. */
export function newRequestId(): string {
  if (idOffset + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 512);
    idOffset = 0;
  }
  idOffset += ID_BYTES;
  return idPool.toString("hex", idOffset - ID_BYTES, idOffset);
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
    write(`${formatRecord(format, now(), level, msg, fields)}\n`);
  return Object.assign(at("info"), { debug: at("debug"), warn: at("warn"), error: at("error") });
}
