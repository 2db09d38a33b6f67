/**
 * What the daemon asks registries itself, without nerdctl: docker login's
 * check, a reference's manifest and platforms, and search.
 */
import { parseSearchQuery, type SearchParameters } from "../docker/image-search.ts";
import { registryCredentials, type RegistryAuth } from "../docker/registry-auth.ts";
import { inspectDistribution, type DistributionInspect } from "../registry/distribution.ts";
import { login, type AuthenticateOKBody } from "../registry/login.ts";
import { searchImages, type SearchResult } from "../registry/search.ts";
import type { Scope } from "./scope.ts";

/** The client's credentials (X-Registry-Auth, or the /auth body) and its going away. */
export interface RegistryAccess {
  auth: RegistryAuth | undefined;
  signal?: AbortSignal;
}

/** POST /auth: the credentials checked with the registry they name; nothing is stored. */
export function logIn(_scope: Scope, input: RegistryAccess & { auth: RegistryAuth }): Promise<AuthenticateOKBody> {
  return login(input.auth.serveraddress, registryCredentials(input.auth), { signal: input.signal });
}

/** GET /distribution/{name}/json: the reference's manifest descriptor and platforms, from its registry. */
export function distributionOf(_scope: Scope, input: RegistryAccess & { name: string }): Promise<DistributionInspect> {
  return inspectDistribution(input.name, { credentials: registryCredentials(input.auth), signal: input.signal });
}

/** GET /images/search: Docker Hub's search, or a registry's catalog filtered by the term. */
export async function searchRegistry(_scope: Scope, input: RegistryAccess & SearchParameters): Promise<SearchResult[]> {
  return searchImages(parseSearchQuery(input), { credentials: registryCredentials(input.auth), signal: input.signal });
}
