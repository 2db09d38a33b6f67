import type { Readable } from "node:stream";
import { selectContainers } from "../docker/container-selection.ts";
import type { ContainerInspect, ContainerSummary, ContainerTopResponse, FilesystemChange } from "../docker/container-types.ts";
import { toChanges, toTopResponse } from "../docker/container-processes.ts";
import { networkNames, toContainerInspect } from "../docker/containers.ts";
import type { Filters } from "../docker/filters.ts";
import type { ContainerSnapshot } from "../nerdctl/container-types.ts";
import { changes, containerSizes, containerSnapshot, exportContainer, top } from "../nerdctl/containers.ts";
import { networkIdsByName } from "../nerdctl/networks.ts";
import { findContainer } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

/*
 * What can be read of containers without changing them: lists, documents,
 * processes, filesystem changes and exports.
 */

export interface ContainerListQuery {
  all: boolean;
  /** At most this many, the most recently created; -1 for no limit. */
  limit: number;
  /** With SizeRw and SizeRootFs. */
  size: boolean;
  filters: Filters;
}

/**
 * GET /containers/json: from the namespace's state, with no engine call but
 * sizes (`size`); while it is not kept, three calls whatever the number of
 * containers.
 */
export async function containerList(scope: Scope, query: ContainerListQuery): Promise<ContainerSummary[]> {
  // A limit asks for the most recently created containers, running or not.
  const all = query.all || query.limit > 0;
  const [snapshot, sizes] = await Promise.all([listed(scope, query, all), query.size ? containerSizes(scope.nerdctl) : undefined]);
  // Endpoints name their network by id: compose recreates a container whose endpoints do not.
  const networkIds = await networkIdsOf(scope, snapshot.containers.flatMap(networkNames));
  return selectContainers(snapshot, { all, limit: query.limit, filters: query.filters, sizes, networkIds }, Date.now());
}

/** The network nerdctl refuses to remove: its id never changes. */
const DEFAULT_NETWORK = "bridge";

/**
 * Networks' ids by name: from the namespace's state while it keeps them. host
 * and none have nerdctld's own ids, and the default network's is taken from
 * the networks as last listed, however old: nerdctl takes longer to list
 * networks the more containers there are (seconds with hundreds), and a
 * listing of containers that waited for that once a second would cost far
 * more than the containers themselves.
 */
async function networkIdsOf(scope: Scope, names: string[]): Promise<Map<string, string>> {
  const wanted = new Set(names.filter((name) => name !== "host" && name !== "none"));
  if (wanted.size === 0) return new Map();
  const latest = wanted.size === 1 && wanted.has(DEFAULT_NETWORK) ? scope.state.networks.latest() : undefined;
  const known = latest?.some((network) => network.CNI.name === DEFAULT_NETWORK && network.NerdctlID);
  const networks = known ? latest : await scope.state.networks.current();
  if (!networks) return networkIdsByName(scope.nerdctl, [...wanted]);
  return new Map(networks.flatMap((network) => (network.NerdctlID && wanted.has(network.CNI.name) ? [[network.CNI.name, network.NerdctlID] as const] : [])));
}

async function listed(scope: Scope, query: ContainerListQuery, all: boolean): Promise<ContainerSnapshot> {
  const containers = await scope.state.containers.all();
  if (containers) return { containers, images: await scope.state.images.of(containers.map((container) => container.Image)) };
  // before/since may name a stopped container, and a status filter may ask for stopped ones.
  const wide = all || query.filters.has("before") || query.filters.has("since") || query.filters.has("status");
  return containerSnapshot(scope.nerdctl, { all: wide });
}

/** GET /containers/{id}/json: the container, the image it was made from and its networks' ids. */
export async function containerInspect(scope: Scope, ref: string): Promise<ContainerInspect> {
  const container = await findContainer(scope, ref);
  const [images, networkIds] = await Promise.all([scope.state.images.of([container.Image]), networkIdsOf(scope, networkNames(container))]);
  return toContainerInspect(container, images.get(container.Image), networkIds);
}

/** GET /containers/{id}/top: `nerdctl top` with the client's ps options, as {Titles, Processes}. */
export async function containerProcesses(scope: Scope, ref: string, psArgs: string): Promise<ContainerTopResponse> {
  return toTopResponse(await top(scope.nerdctl, ref, psArgs));
}

/** GET /containers/{id}/changes: what changed in the container's writable layer. */
export async function containerChanges(scope: Scope, ref: string): Promise<FilesystemChange[]> {
  return toChanges(await changes(scope.nerdctl, ref));
}

/** GET /containers/{id}/export: the container's filesystem as a tar, streamed until the child ends or `signal` aborts. */
export async function containerExport(scope: Scope, ref: string, signal: AbortSignal): Promise<{ tar: Readable; stop(): void }> {
  // Asked first, so a missing container is a 404 rather than a broken tar.
  await findContainer(scope, ref);
  const child = exportContainer(scope.nerdctl, ref, signal);
  return { tar: child.stdout, stop: () => child.kill() };
}
