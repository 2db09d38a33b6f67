import type { ContainerSize, ContainerSnapshot, NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import type { ContainerPruneResponse, ContainerSummary } from "./container-types.ts";
import { stateName, toContainerSummary, userLabels, type NetworkIds } from "./containers.ts";
import { badParameter, notFound } from "../errors.ts";
import { noneOfLabels, parseFilterTime, type Filters } from "./filters.ts";
import { familiarize } from "../reference.ts";

/*
 * Which containers GET /containers/json lists and POST /containers/prune
 * removes, with dockerd's filters.
 */

export const CONTAINER_FILTERS = ["id", "name", "label", "status", "ancestor", "before", "since", "exited", "network", "volume"] as const;
const STATES: readonly string[] = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/** Whether a container's image is the one `ancestor=` names (by name, full or familiar, or by id). */
function isAncestor(wanted: string, container: NerdctlContainerInspect, imageId: string): boolean {
  const reference = container.Config.Image || container.Image;
  const withTag = (name: string) => (/:[\w][\w.-]*$/.test(name.split("/").at(-1)!) || name.includes("@") ? name : `${name}:latest`);
  if (familiarize(withTag(wanted)) === familiarize(withTag(reference))) return true;
  const id = imageId.replace(/^sha256:/, "");
  const wantedId = wanted.replace(/^sha256:/, "");
  return id !== "" && /^[0-9a-f]{4,64}$/.test(wantedId) && id.startsWith(wantedId);
}

/**
 * GET /containers/json filters, with dockerd's meanings. `before`/`since`
 * name a container (by name or id) among all of them.
 */
export function filterContainers(
  containers: NerdctlContainerInspect[],
  summaries: ContainerSummary[],
  filters: Filters,
): ContainerSummary[] {
  for (const status of filters.values("status")) {
    if (!STATES.includes(status)) throw badParameter(`invalid filter 'status=${status}'`);
  }
  const exitCodes = filters.values("exited").map((value) => {
    if (!/^-?\d+$/.test(value)) throw badParameter(`invalid filter 'exited=${value}'`);
    return Number(value);
  });
  const createdOf = (ref: string) => {
    const found = containers.find((c) => c.Name === ref.replace(/^\//, "") || c.Id.startsWith(ref));
    if (!found) throw notFound(`No such container: ${ref}`);
    return Date.parse(found.Created);
  };
  const before = filters.values("before").map(createdOf);
  const since = filters.values("since").map(createdOf);

  return summaries.filter((summary, index) => {
    const container = containers[index]!;
    const created = Date.parse(container.Created);
    const networks = Object.keys(summary.NetworkSettings.Networks);
    return (
      filters.match("id", summary.Id) &&
      filters.match("name", summary.Names[0]!) &&
      filters.matchLabels(summary.Labels) &&
      filters.exactMatch("status", summary.State) &&
      (!filters.has("ancestor") || filters.values("ancestor").some((wanted) => isAncestor(wanted, container, summary.ImageID))) &&
      before.every((time) => created < time) &&
      since.every((time) => created > time) &&
      (exitCodes.length === 0 || (summary.State === "exited" && exitCodes.includes(container.State.ExitCode))) &&
      (!filters.has("network") || filters.values("network").some((network) => networks.includes(network))) &&
      (!filters.has("volume") ||
        filters.values("volume").some((volume) => summary.Mounts.some((mount) => mount.Name === volume || mount.Destination === volume)))
    );
  });
}

/**
 * GET /containers/json from a snapshot of all containers: running ones only
 * unless `all` or a status filter says otherwise, filtered, newest first, at
 * most `limit`.
 */
export function selectContainers(
  snapshot: ContainerSnapshot,
  options: { all: boolean; limit: number; filters: Filters; sizes?: Map<string, ContainerSize>; networkIds?: NetworkIds },
  now: number,
): ContainerSummary[] {
  const { containers, images } = snapshot;
  const summaries = containers.map((container) => {
    const summary = toContainerSummary(container, images.get(container.Image), now, options.networkIds);
    const size = options.sizes?.get(container.Id);
    return options.sizes ? { ...summary, SizeRw: size?.rw ?? 0, SizeRootFs: size?.rootFs ?? 0 } : summary;
  });
  const everything = options.all || options.filters.has("status");
  const selected = filterContainers(containers, summaries, options.filters)
    .filter((summary) => everything || summary.State === "running")
    .sort((a, b) => b.Created - a.Created);
  return options.limit > 0 ? selected.slice(0, options.limit) : selected;
}

export const CONTAINER_PRUNE_FILTERS = ["until", "label", "label!"] as const;

/** What POST /containers/prune removes: stopped containers (exited, created, dead) matching the filters. */
export function containerPruneCandidates(containers: NerdctlContainerInspect[], filters: Filters, now: number): NerdctlContainerInspect[] {
  const untils = filters.values("until").map((value) => parseFilterTime(value, now));
  return containers.filter((container) => {
    const labels = userLabels(container.Config.Labels);
    const state = stateName(container);
    return (
      (state === "exited" || state === "created" || state === "dead") &&
      filters.matchLabels(labels) &&
      noneOfLabels(filters, labels) &&
      untils.every((until) => Date.parse(container.Created) < until)
    );
  });
}

/** What a prune freed: the removed containers' writable layers (as exact as nerdctl's rounded `ps --size`). */
export function containerPruneResponse(removed: NerdctlContainerInspect[], sizes: Map<string, ContainerSize>): ContainerPruneResponse {
  return {
    ContainersDeleted: removed.map((container) => container.Id),
    SpaceReclaimed: removed.reduce((total, container) => total + (sizes.get(container.Id)?.rw ?? 0), 0),
  };
}
