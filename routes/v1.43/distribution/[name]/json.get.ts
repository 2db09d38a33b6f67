import { decodeRegistryAuth } from "../../../../lib/docker/registry-auth.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { distributionOf } from "../../../../lib/service/registry.ts";

/** GET /distribution/{name}/json: the reference's manifest descriptor and platforms, from the registry. */
export default defineRoute((request) =>
  // As dockerd: unreadable credentials mean an anonymous request.
  distributionOf(request.scope, { name: request.param("name"), auth: decodeRegistryAuth(request.header("X-Registry-Auth") ?? ""), signal: request.signal }),
);
