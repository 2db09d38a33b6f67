import { defineHandler } from "h3";
import { decodeRegistryAuth } from "../../../../lib/docker/transfer.ts";
import { registryCredentials } from "../../../../lib/registry/client.ts";
import { inspectDistribution } from "../../../../lib/registry/distribution.ts";
import { useParam } from "../../../../lib/server/context.ts";
import { clientGone } from "../../../../lib/server/streams.ts";

/** GET /distribution/{name}/json: the reference's manifest descriptor and platforms, from the registry. */
export default defineHandler((event) => {
  const signal = clientGone(event);
  // As dockerd: unreadable credentials mean an anonymous request.
  const auth = decodeRegistryAuth(event.req.headers.get("X-Registry-Auth") ?? "");
  return inspectDistribution(useParam(event, "name"), { credentials: registryCredentials(auth), signal });
});
