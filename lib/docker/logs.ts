import { timestampNano } from "./events.ts";
import { badParameter } from "../errors.ts";
import type { LogsOptions } from "../nerdctl/logs.ts";

/** GET /containers/{id}/logs's parameters as the client sent them. */
export interface LogsQuery {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  timestamps: boolean;
  since?: string;
  until?: string;
  tail?: string;
}

/** The streams the client wants, and what `nerdctl logs` is asked for. */
export interface LogsRequest {
  stdout: boolean;
  stderr: boolean;
  options: LogsOptions;
}

/** A unix time (seconds, optionally with a fraction) or an RFC 3339 time. */
const TIME = /^(\d+(\.\d{1,9})?|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2}))$/;

/** A `since`/`until` bound; empty and "0" bound nothing, as in dockerd. */
function timeBound(name: "since" | "until", value: string | undefined): string | undefined {
  if (value === undefined || value === "" || value === "0") return undefined;
  if (!TIME.test(value)) throw badParameter(`invalid ${name}: ${JSON.stringify(value.slice(0, 40))}`);
  return value;
}

/**
 * Checks the parameters, so that a bad one is a 400 before anything runs.
 * A tail of 0 is none of the lines written before `now` (nerdctl reads 0 as
 * all of them): a bound at `now`, or at the client's since when that is later.
 */
export function parseLogsQuery(query: LogsQuery, now = new Date()): LogsRequest {
  if (!query.stdout && !query.stderr) throw badParameter("Bad parameters: you must choose at least one stream");
  let since = timeBound("since", query.since);
  const until = timeBound("until", query.until);
  // As dockerd: a tail that is not a count of lines ("all", "-1" as Testcontainers sends, anything else) is all of them.
  let tail = query.tail !== undefined && /^\d+$/.test(query.tail) ? query.tail : undefined;
  if (tail !== undefined && Number(tail) === 0) {
    tail = undefined;
    // RFC 3339: a fraction of a Unix time would be read as nanoseconds.
    const start = now.toISOString();
    if (since === undefined || (boundNano(since) ?? 0n) < boundNano(start)!) since = start;
  }
  return {
    stdout: query.stdout,
    stderr: query.stderr,
    options: { follow: query.follow, timestamps: query.timestamps, since, until, tail },
  };
}

/** A checked `since`/`until` bound in nanoseconds. */
function boundNano(bound: string): bigint | undefined {
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(bound);
  return unix ? BigInt(unix[1]!) * 1_000_000_000n + BigInt((unix[2] ?? "").padEnd(9, "0")) : timestampNano(bound);
}

/** A `since` bound in nanoseconds when it is finer than a second, which nerdctl cuts to the second; undefined otherwise. */
export function subSecondSince(since: string | undefined): bigint | undefined {
  const nano = since === undefined ? undefined : boundNano(since);
  return nano !== undefined && nano % 1_000_000_000n !== 0n ? nano : undefined;
}

/**
 * A log line as nerdctl prints it with timestamps (`<RFC 3339> <text>`), kept
 * when it is not before `since`, its timestamp left on only when the client
 * asked for timestamps. Undefined: the line is dropped.
 */
export function lineSince(line: string, since: bigint, keepTimestamp: boolean): string | undefined {
  const space = line.indexOf(" ");
  const time = space > 0 ? timestampNano(line.slice(0, space)) : undefined;
  if (time === undefined) return line;
  if (time < since) return undefined;
  return keepTimestamp ? line : line.slice(space + 1);
}
