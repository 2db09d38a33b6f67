import { containerPruneCandidates, containerPruneResponse } from "../docker/container-selection.ts";
import type { ContainerPruneResponse } from "../docker/container-types.ts";
import type { Filters } from "../docker/filters.ts";
import { allContainers, containerSizes } from "../nerdctl/containers.ts";
import { removingContainers } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

/*
 * What changes containers: their lifecycle. Reads are in container-reads.ts,
 * the logs and stats streams in logs.ts and stats.ts.
 */

/** POST /containers/prune: the stopped containers the filters select, removed in one call. */
export async function containerPrune(scope: Scope, filters: Filters): Promise<ContainerPruneResponse> {
  const [containers, sizes] = await Promise.all([allContainers(scope.nerdctl), containerSizes(scope.nerdctl)]);
  const candidates = containerPruneCandidates(containers, filters, Date.now());
  const ids = candidates.map((container) => container.Id);
  await removingContainers(scope, ids);
  return containerPruneResponse(candidates, sizes);
}
