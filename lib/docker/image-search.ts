/** GET /images/search's `limit` and `filters`, checked as dockerd checks them. */
import { badParameter } from "../errors.ts";
import type { SearchFilters, SearchQuery } from "../registry/search.ts";
import { Filters } from "./filters.ts";

const SEARCH_FILTERS = ["is-automated", "is-official", "stars"] as const;
const DEFAULT_SEARCH_LIMIT = 25;

/** The query parameters as the client sent them. */
export interface SearchParameters {
  term: string;
  limit?: string | undefined;
  filters?: unknown;
}

/** dockerd's filter checks: a unique true/false for the flags, integers for stars. */
function searchFilters(raw: unknown): SearchFilters {
  const filters = Filters.parse(raw, SEARCH_FILTERS);
  const flag = (key: string): boolean | undefined => {
    if (!filters.contains(key)) return undefined;
    const values = filters.values(key);
    if (values.length === 1 && (values[0] === "true" || values[0] === "false")) return values[0] === "true";
    throw badParameter(`invalid filter '${key}=[${values.join(" ")}]'`);
  };
  let minStars = 0;
  for (const value of filters.values("stars")) {
    if (!/^[+-]?\d+$/.test(value)) throw badParameter(`invalid filter 'stars=${value}'`);
    minStars = Math.max(minStars, Number(value));
  }
  const isAutomated = flag("is-automated");
  const isOfficial = flag("is-official");
  return { ...(isAutomated !== undefined ? { isAutomated } : {}), ...(isOfficial !== undefined ? { isOfficial } : {}), minStars };
}

/** dockerd's limit: 25 by default, 1 to 100. */
function searchLimit(raw: string | undefined): number {
  if (raw === undefined || raw === "") return DEFAULT_SEARCH_LIMIT;
  if (!/^[+-]?\d{1,9}$/.test(raw)) throw badParameter(`strconv.Atoi: parsing ${JSON.stringify(raw.slice(0, 40))}: invalid syntax`);
  const limit = Number(raw);
  if (limit < 1 || limit > 100) throw badParameter(`Limit ${limit} is outside the range of [1, 100]`);
  return limit;
}

/** The search a client asks for: the limit checked first, then the filters (the term is the registry's to check). */
export function parseSearchQuery(parameters: SearchParameters): SearchQuery {
  const limit = searchLimit(parameters.limit);
  return { term: parameters.term, limit, filters: searchFilters(parameters.filters) };
}
