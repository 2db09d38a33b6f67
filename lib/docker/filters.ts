import { badParameter } from "../errors.ts";

/**
 * Docker's `filters` query parameter: a JSON object of boolean maps
 * (`{"label":{"a=b":true}}`, what the docker CLI sends) or the older object of
 * lists (`{"label":["a=b"],"dangling":["true"]}`), with dockerd's matching
 * rules (api/types/filters in moby 24). Parsing checks the keys an endpoint
 * accepts: anything else is dockerd's 400 `invalid filter 'x'`.
 */
export class Filters {
  private constructor(private readonly entries: Map<string, string[]>) {}

  static readonly none = new Filters(new Map());

  /** Parses and checks the keys an endpoint accepts; anything else is Docker's 400. */
  static parse(raw: unknown, allowed: readonly string[]): Filters {
    if (Array.isArray(raw)) raw = raw.at(-1);
    if (raw === undefined || raw === null || raw === "") return Filters.none;
    if (typeof raw !== "string") throw badParameter("invalid filter");
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw badParameter("invalid filter");
    }
    if (parsed === null) return Filters.none;
    if (typeof parsed !== "object" || Array.isArray(parsed)) throw badParameter("invalid filter");
    const entries = new Map<string, string[]>();
    for (const [key, value] of Object.entries(parsed)) {
      const values = Array.isArray(value)
        ? value
        : value && typeof value === "object"
          ? Object.entries(value).filter(([, on]) => on === true).map(([item]) => item)
          : value === null
            ? []
            : undefined;
      if (!values || values.some((item) => typeof item !== "string")) throw badParameter("invalid filter");
      entries.set(key, [...new Set(values as string[])]);
    }
    // dockerd validates the keys after decoding the whole document.
    for (const key of entries.keys()) {
      if (!allowed.includes(key)) throw badParameter(`invalid filter '${key}'`);
    }
    return new Filters(entries);
  }

  /** Adds values (e.g. the pre-1.41 `filter` parameter, which is a `reference` filter). */
  with(key: string, ...values: string[]): Filters {
    const entries = new Map(this.entries);
    entries.set(key, [...new Set([...(entries.get(key) ?? []), ...values])]);
    return new Filters(entries);
  }

  /** The key was given (dockerd's Contains), even with no values. */
  contains(key: string): boolean {
    return this.entries.has(key);
  }

  has(key: string): boolean {
    return (this.entries.get(key)?.length ?? 0) > 0;
  }

  values(key: string): string[] {
    return this.entries.get(key) ?? [];
  }

  /** No values, or one equal to the source or matching it as a regular expression (Docker's Match). */
  match(key: string, source: string): boolean {
    const values = this.values(key);
    if (values.length === 0) return true;
    return values.some((value) => value === source || safeRegExp(value)?.test(source));
  }

  /** No values, or one exactly equal to the source. */
  exactMatch(key: string, source: string): boolean {
    const values = this.values(key);
    return values.length === 0 || values.includes(source);
  }

  /** Every `key` or `key=value` given must be among the labels (Docker's MatchKVList). */
  matchLabels(labels: Record<string, string> | null | undefined, key = "label"): boolean {
    return this.values(key).every((wanted) => {
      const at = wanted.indexOf("=");
      if (at < 0) return labels?.[wanted] !== undefined;
      return labels?.[wanted.slice(0, at)] === wanted.slice(at + 1);
    });
  }

  /**
   * A true/false filter such as `dangling` (dockerd's GetBoolOrDefault):
   * undefined when absent; `true`/`1` or `false`/`0`; anything else, or both
   * at once, is dockerd's 400 `invalid filter 'dangling=[maybe]'`.
   */
  bool(key: string): boolean | undefined {
    if (!this.entries.has(key)) return undefined;
    const values = this.values(key);
    const isTrue = values.includes("true") || values.includes("1");
    const isFalse = values.includes("false") || values.includes("0");
    if (isTrue === isFalse) throw badParameter(`invalid filter '${key}=[${[...values].sort().join(" ")}]'`);
    return isTrue;
  }
}

/** dockerd's prune filter `label!`: none of these `key` or `key=value` may be among the labels. */
export function noneOfLabels(filters: Filters, labels: Record<string, string> | null | undefined): boolean {
  return filters.values("label!").every((label) => {
    const at = label.indexOf("=");
    return at < 0 ? labels?.[label] === undefined : labels?.[label.slice(0, at)] !== label.slice(at + 1);
  });
}

/** The value as a RegExp, or undefined when it is none (invalid, or too large to compile). */
function safeRegExp(pattern: string): RegExp | undefined {
  try {
    const compiled = new RegExp(pattern);
    // V8 compiles on first use: a pattern too large fails here, not in the match.
    compiled.test("");
    return compiled;
  } catch {
    return undefined;
  }
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** Go's time.ParseDuration, in milliseconds; undefined when the text is not a duration. */
export function parseGoDuration(value: string): number | undefined {
  if (value === "0") return 0;
  if (!DURATION_RE.test(value)) return undefined;
  const sign = value.startsWith("-") ? -1 : 1;
  let total = 0;
  for (const [, number, unit] of value.replace(/^[-+]/, "").matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(number) * DURATION_UNITS[unit!]!;
  }
  return sign * total;
}

/**
 * A point in time as dockerd reads `until` filters (timetypes.GetTimestamp):
 * a Go duration before `now` (`10m`, `1h30m`), an RFC 3339 date or date-time
 * (local time when it has no zone), or Unix seconds (`1700000000.5`). Returns
 * milliseconds since the epoch; a value it cannot read is dockerd's 400.
 */
export function parseFilterTime(value: string, now: number = Date.now()): number {
  const duration = value === "0" ? undefined : parseGoDuration(value);
  if (duration !== undefined) return now - duration;
  const failed = () => badParameter(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  if (value.includes("-")) {
    const dateTime = /^\d{4}-\d{2}-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)?(?:[zZ]|[+-]\d{2}:\d{2})?$/;
    if (!dateTime.test(value)) throw failed();
    let text = value.replace(/z$/, "Z");
    const zone = /(?:Z|[+-]\d{2}:\d{2})$/.exec(text)?.[0] ?? "";
    let local = text.slice(0, text.length - zone.length);
    // JavaScript reads a bare date as UTC and wants minutes; Go reads both in the daemon's zone.
    if (!local.includes("T")) local += "T00:00";
    else if (/T\d{2}$/.test(local)) local += ":00";
    text = local + zone;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw failed();
    return ms;
  }
  if (/^\d+(?:\.\d{0,9})?$/.test(value)) return Number(value) * 1000;
  throw failed();
}
