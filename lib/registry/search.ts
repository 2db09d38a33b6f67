/**
 * GET /images/search. Docker Hub's index answers /v1/search (not reachable
 * from every machine: then the failure is dockerd's, naming the request). A
 * registry that only speaks v2 has no search; its `_catalog` does instead:
 * the repositories whose name contains the term, up to the limit.
 */
import { badParameter, ApiError } from "../errors.ts";
import { discard, readBounded, RegistryClient, RESPONSE_LIMITS, REQUEST_TIMEOUT_MS, type RegistryCredentials } from "./client.ts";
import { DOCKER_HUB_INDEX, isDockerHub, isRegistryHost } from "./endpoint.ts";
import { networkReason, remoteText, requestError } from "./errors.ts";

export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

/** Catalog pages read at most for one search (of CATALOG_PAGE repositories each). */
const CATALOG_PAGE = 1000;
const MAX_CATALOG_PAGES = 20;
const MAX_TERM_LENGTH = 1024;

/** Which results to keep. */
export interface SearchFilters {
  isAutomated?: boolean;
  isOfficial?: boolean;
  minStars: number;
}

/** A search, its limit (1 to 100) and filters already checked. */
export interface SearchQuery {
  term: string;
  limit: number;
  filters: SearchFilters;
}

/** dockerd's splitReposSearchTerm: `127.0.0.1:5000/busy` → the registry and `busy`; `busybox` → Docker Hub. */
export function splitSearchTerm(term: string): { index: string; remote: string } {
  const slash = term.indexOf("/");
  const first = slash === -1 ? "" : term.slice(0, slash);
  if (slash === -1 || (!first.includes(".") && !first.includes(":") && first !== "localhost")) return { index: "docker.io", remote: term };
  return { index: first, remote: term.slice(slash + 1) };
}

function keep(result: SearchResult, filters: SearchFilters): boolean {
  if (filters.isAutomated !== undefined && result.is_automated !== filters.isAutomated) return false;
  if (filters.isOfficial !== undefined && result.is_official !== filters.isOfficial) return false;
  return result.star_count >= filters.minStars;
}

export interface SearchOptions {
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function searchImages(query: SearchQuery, options: SearchOptions = {}): Promise<SearchResult[]> {
  const { term, limit, filters } = query;
  if (term.includes("://")) throw badParameter('Invalid repository name (ex: "registry.domain.tld/myrepos")');
  if (term.length > MAX_TERM_LENGTH || /[\u0000-\u001f\u007f]/.test(term)) throw badParameter(`invalid search term: ${JSON.stringify(term.slice(0, 80))}`);
  const { index, remote } = splitSearchTerm(term);
  if (!isRegistryHost(index)) throw badParameter(`invalid index name (${JSON.stringify(index.slice(0, 80))})`);
  const results = isDockerHub(index)
    ? await searchDockerHub(remote.startsWith("library/") ? remote.slice("library/".length) : remote, limit, options)
    : await searchCatalog(index, remote, limit, filters, options);
  return results.filter((result) => keep(result, filters)).slice(0, limit);
}

/** Docker Hub's v1 search, as dockerd asks it. */
async function searchDockerHub(term: string, limit: number, options: SearchOptions): Promise<SearchResult[]> {
  const url = `https://${DOCKER_HUB_INDEX}/v1/search?q=${encodeURIComponent(term)}&n=${limit}`;
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])]);
  let response: Response;
  try {
    response = await globalThis.fetch(url, { headers: { "X-Docker-Token": "true" }, redirect: "error", signal });
  } catch (error) {
    throw requestError("GET", url, networkReason(error, DOCKER_HUB_INDEX, timeoutMs));
  }
  if (response.status !== 200) {
    await discard(response);
    throw new ApiError("system", `Unexpected status code ${response.status}`);
  }
  const body = await readBounded(response, RESPONSE_LIMITS.search, "GET", url, DOCKER_HUB_INDEX, timeoutMs);
  let parsed: { results?: unknown };
  try {
    parsed = JSON.parse(body.toString("utf8")) as { results?: unknown };
  } catch {
    throw new ApiError("upstream", "error decoding registry search results");
  }
  const results = Array.isArray(parsed?.results) ? parsed.results : [];
  return results.slice(0, 100).map((item: Record<string, unknown>) => ({
    name: remoteText(item?.name, 255),
    description: remoteText(item?.description, 1000),
    star_count: Number.isSafeInteger(item?.star_count) ? (item.star_count as number) : 0,
    is_official: item?.is_official === true,
    is_automated: item?.is_automated === true,
  }));
}

/** The next page of a catalog (`Link: </v2/_catalog?last=x&n=1000>; rel="next"`), on the same registry only. */
function nextCatalogPath(link: string | null, baseUrl: string): string | undefined {
  const target = link ? /<([^>]*)>\s*;[^,]*rel="?next"?/i.exec(link)?.[1] : undefined;
  if (!target) return undefined;
  try {
    const url = new URL(target, baseUrl);
    if (url.origin !== new URL(baseUrl).origin || url.pathname !== "/v2/_catalog") return undefined;
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

/** The registry's repositories whose name contains the term, as search results named `host/repository`. */
async function searchCatalog(index: string, remote: string, limit: number, filters: SearchFilters, options: SearchOptions): Promise<SearchResult[]> {
  const client = new RegistryClient({
    host: index,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  // Catalog entries have no stars, are neither official nor automated.
  const none = { description: "", star_count: 0, is_official: false, is_automated: false };
  if (filters.isOfficial === true || filters.isAutomated === true || filters.minStars > 0) return [];
  const needle = remote.toLowerCase();
  const found: SearchResult[] = [];
  let path: string | undefined = `/v2/_catalog?n=${CATALOG_PAGE}`;
  for (let page = 0; path !== undefined && page < MAX_CATALOG_PAGES && found.length < limit; page++) {
    const url = `${client.baseUrl}${path}`;
    const response = await client.request({ method: "GET", path, scopes: ["registry:catalog:*"] });
    if (response.status === 401 || response.status === 403) throw await client.responseError(response, "GET", url);
    if (response.status !== 200) {
      await discard(response);
      throw new ApiError("system", `Unexpected status code ${response.status} (the registry ${index} serves no catalog to search)`);
    }
    const body = await client.readBody(response, RESPONSE_LIMITS.catalog, "GET", url);
    let repositories: unknown;
    try {
      repositories = (JSON.parse(body.toString("utf8")) as { repositories?: unknown }).repositories;
    } catch {
      throw new ApiError("upstream", "error decoding registry catalog");
    }
    if (!Array.isArray(repositories)) break;
    for (const repository of repositories) {
      if (typeof repository !== "string" || !repository.toLowerCase().includes(needle)) continue;
      found.push({ name: `${index}/${remoteText(repository, 255)}`, ...none });
      if (found.length >= limit) break;
    }
    path = nextCatalogPath(response.headers.get("link"), client.baseUrl);
  }
  return found;
}
