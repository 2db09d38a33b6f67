import { defineHandler } from "h3";
import { DockerError } from "../../../lib/docker/errors.ts";
import { BUILTIN_NETWORKS, builtinByReference, predefinedNetworkError } from "../../../lib/docker/networks.ts";
import { removeNetworks } from "../../../lib/nerdctl/networks.ts";
import { useNerdctl, useParam } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const ref = useParam(event, "id");
  const builtin = builtinByReference(ref) ?? (BUILTIN_NETWORKS as readonly string[]).find((name) => name === ref);
  if (builtin) throw predefinedNetworkError(builtin);
  try {
    await removeNetworks(useNerdctl(event), [ref]);
  } catch (error) {
    // dockerd answers 403 for a network with containers on it.
    if (error instanceof DockerError && error.status === 409) {
      throw new DockerError(403, `error while removing network: network ${ref} has active endpoints`);
    }
    throw error;
  }
  event.res.status = 204;
  return null;
});
