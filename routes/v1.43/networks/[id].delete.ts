import { defineHandler } from "h3";
import { ApiError, isKind } from "../../../lib/errors.ts";
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
    if (isKind(error, "conflict")) {
      throw new ApiError("forbidden", `error while removing network: network ${ref} has active endpoints`);
    }
    throw error;
  }
  event.res.status = 204;
  return null;
});
