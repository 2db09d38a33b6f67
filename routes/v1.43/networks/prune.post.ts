import { defineHandler, getQuery } from "h3";
import { networkNames } from "../../../lib/docker/containers.ts";
import { Filters } from "../../../lib/docker/filters.ts";
import { NETWORK_PRUNE_FILTERS, networkPruneCandidates, toNetworks } from "../../../lib/docker/networks.ts";
import { allContainers } from "../../../lib/nerdctl/containers.ts";
import { networkSnapshot, removeNetworks } from "../../../lib/nerdctl/networks.ts";
import { useNerdctl } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const filters = Filters.parse(getQuery(event).filters, NETWORK_PRUNE_FILTERS);
  const nerdctl = useNerdctl(event);
  const [native, containers] = await Promise.all([networkSnapshot(nerdctl), allContainers(nerdctl)]);
  const networks = await toNetworks(native);
  const candidates = networkPruneCandidates(networks, filters, new Set(containers.flatMap(networkNames)), Date.now());
  await removeNetworks(nerdctl, candidates.map((network) => network.Name));
  return { NetworksDeleted: candidates.map((network) => network.Name) };
});
