import { networkNames } from "../docker/containers.ts";
import type { Filters } from "../docker/filters.ts";
import {
  BUILTIN_NETWORKS,
  builtinByReference,
  networkPruneCandidates,
  predefinedNetworkError,
  selectNetworks,
  toNetwork,
  type Network,
} from "../docker/networks.ts";
import { forbidden, isKind } from "../errors.ts";
import { createdAtOf } from "../host/facts.ts";
import { allContainers } from "../nerdctl/containers.ts";
import type { NerdctlNativeNetwork } from "../nerdctl/network-types.ts";
import {
  createNetwork,
  inspectNetworkCompat,
  inspectNetworksNative,
  networkIdentities,
  networkSnapshot,
  removeNetworks,
  type NetworkCreateOptions,
} from "../nerdctl/networks.ts";
import type { Scope } from "./scope.ts";

/** Networks as Docker shows them, with each one's creation time from its configuration file (nerdctl records none). */
async function dockerNetworks(native: NerdctlNativeNetwork[]): Promise<Network[]> {
  const created = await createdAtOf(native.map((network) => network.File ?? ""));
  return native.map((network) => toNetwork(network, created.get(network.File ?? "") ?? ""));
}

/** The names of the networks some container (running or not) is on. */
async function networksInUse(scope: Scope): Promise<Set<string>> {
  const containers = (await scope.state.containers.all()) ?? (await allContainers(scope.nerdctl));
  return new Set(containers.flatMap(networkNames));
}

async function allNetworks(scope: Scope): Promise<NerdctlNativeNetwork[]> {
  return (await scope.state.networks.current()) ?? (await networkSnapshot(scope.nerdctl));
}

/** GET /networks. */
export async function networkList(scope: Scope, filters: Filters): Promise<Network[]> {
  const [native, inUse] = await Promise.all([
    allNetworks(scope),
    // Only the dangling filter needs to know which networks containers are on.
    filters.contains("dangling") ? networksInUse(scope) : Promise.resolve(new Set<string>()),
  ]);
  return selectNetworks(await dockerNetworks(native), filters, inUse);
}

/** GET /networks/{id}: host and none are found by the ids they are listed with too. */
export async function networkInspect(scope: Scope, id: string): Promise<Network> {
  const ref = builtinByReference(id) ?? id;
  const [[native], attached] = await Promise.all([inspectNetworksNative(scope.nerdctl, [ref]), inspectNetworkCompat(scope.nerdctl, ref)]);
  const created = await createdAtOf([native!.File ?? ""]);
  return toNetwork(native!, created.get(native!.File ?? "") ?? "", attached);
}

/** POST /networks/create. */
export async function networkCreate(scope: Scope, options: NetworkCreateOptions): Promise<{ Id: string; Warning: string }> {
  const id = await scope.state.changing("networks", () => createNetwork(scope.nerdctl, options));
  scope.events.emit({ type: "network", action: "create", network: { id: id || options.name, name: options.name, type: options.driver } });
  return { Id: id, Warning: "" };
}

/** DELETE /networks/{id}: never a built-in network; dockerd's 403 for one with containers on it. */
export async function networkRemove(scope: Scope, ref: string): Promise<void> {
  const builtin = builtinByReference(ref) ?? (BUILTIN_NETWORKS as readonly string[]).find((name) => name === ref);
  if (builtin) throw predefinedNetworkError(builtin);
  // Docker's destroy event names the network by its id, which goes with it: learned first when no one could say.
  const [network] = await networkIdentities(scope.nerdctl, scope.events.unknownNetworks([ref]));
  try {
    await scope.state.changing("networks", () => removeNetworks(scope.nerdctl, [ref]));
  } catch (error) {
    if (isKind(error, "conflict")) throw forbidden(`error while removing network: network ${ref} has active endpoints`);
    throw error;
  }
  scope.events.emit({ type: "network", action: "destroy", ref, network });
}

/** POST /networks/prune: custom networks no container is on, matching the filters. */
export async function networkPrune(scope: Scope, filters: Filters): Promise<{ NetworksDeleted: string[] }> {
  const [native, inUse] = await Promise.all([networkSnapshot(scope.nerdctl), networksInUse(scope)]);
  const candidates = networkPruneCandidates(await dockerNetworks(native), filters, inUse, Date.now());
  await scope.state.changing("networks", () => removeNetworks(scope.nerdctl, candidates.map((network) => network.Name)));
  for (const network of candidates) {
    scope.events.emit({ type: "network", action: "destroy", ref: network.Name, network: { id: network.Id, name: network.Name, type: network.Driver } });
  }
  return { NetworksDeleted: candidates.map((network) => network.Name) };
}
