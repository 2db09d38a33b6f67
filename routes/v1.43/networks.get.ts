import { defineHandler, getQuery } from "h3";
import { networkNames } from "../../lib/docker/containers.ts";
import { Filters } from "../../lib/docker/filters.ts";
import { NETWORK_FILTERS, selectNetworks, toNetworks } from "../../lib/docker/networks.ts";
import { allContainers } from "../../lib/nerdctl/containers.ts";
import { networkSnapshot } from "../../lib/nerdctl/networks.ts";
import { useNerdctl } from "../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const filters = Filters.parse(getQuery(event).filters, NETWORK_FILTERS);
  const nerdctl = useNerdctl(event);
  const [native, containers] = await Promise.all([
    networkSnapshot(nerdctl),
    // Only the dangling filter needs to know which networks containers are on.
    filters.contains("dangling") ? allContainers(nerdctl) : Promise.resolve([]),
  ]);
  const networks = await toNetworks(native);
  return selectNetworks(networks, filters, new Set(containers.flatMap(networkNames)));
});
