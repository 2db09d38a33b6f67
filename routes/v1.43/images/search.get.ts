import { decodeRegistryAuth } from "../../../lib/docker/registry-auth.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { searchRegistry } from "../../../lib/service/registry.ts";

/** GET /images/search: Docker Hub's search, or a registry's catalog filtered by the term. */
export default defineRoute((request) =>
  searchRegistry(request.scope, {
    term: request.text("term") ?? "",
    limit: request.text("limit"),
    filters: request.text("filters"),
    auth: decodeRegistryAuth(request.header("X-Registry-Auth") ?? ""),
    signal: request.signal,
  }),
);
