import { badParameter } from "./errors.ts";

/**
 * Docker's `filters` query parameter: a JSON object of lists
 * (`{"label":["a=b"],"dangling":["true"]}`) or the older object of booleans
 * (`{"label":{"a=b":true}}`), with Docker's matching rules.
 */
export class Filters {
  private constructor(private readonly entries: Map<string, string[]>) {}

  static readonly none = new Filters(new Map());

  /** Parses and checks the keys an endpoint accepts; anything else is Docker's 400. */
  static parse(raw: unknown, allowed: readonly string[]): Filters {
    if (raw === undefined || raw === "") return Filters.none;
    if (typeof raw !== "string") throw badParameter("invalid filters: expected one JSON object");
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw badParameter(`invalid filters: ${JSON.stringify(raw.slice(0, 80))} is not JSON`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw badParameter("invalid filters: expected a JSON object");
    const entries = new Map<string, string[]>();
    for (const [key, value] of Object.entries(parsed)) {
      if (!allowed.includes(key)) throw badParameter(`invalid filter '${key}'`);
      const values = Array.isArray(value)
        ? value
        : value && typeof value === "object"
          ? Object.entries(value).filter(([, on]) => on === true).map(([item]) => item)
          : undefined;
      if (!values || values.some((item) => typeof item !== "string")) throw badParameter(`invalid filter '${key}'`);
      entries.set(key, values as string[]);
    }
    return new Filters(entries);
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

  /** A true/false filter such as `dangling`; undefined when absent. */
  bool(key: string): boolean | undefined {
    const values = this.values(key);
    if (values.length === 0) return undefined;
    const last = values.at(-1)!.toLowerCase();
    if (last === "true" || last === "1") return true;
    if (last === "false" || last === "0") return false;
    throw badParameter(`invalid filter '${key}=${values.at(-1)}'`);
  }
}

function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern);
  } catch {
    return undefined;
  }
}
