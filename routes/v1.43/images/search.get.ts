import { defineHandler } from "h3";
import { decodeRegistryAuth } from "../../../lib/docker/transfer.ts";
import { registryCredentials } from "../../../lib/registry/client.ts";
import { searchImages } from "../../../lib/registry/search.ts";
import { clientGone } from "../../../lib/server/streams.ts";

/** GET /images/search: Docker Hub's search, or a registry's catalog filtered by the term. */
export default defineHandler((event) => {
  const signal = clientGone(event);
  const query = event.url.searchParams;
  const auth = decodeRegistryAuth(event.req.headers.get("X-Registry-Auth") ?? "");
  return searchImages(
    { term: query.get("term") ?? "", limit: query.get("limit") ?? undefined, filters: query.get("filters") ?? undefined },
    { credentials: registryCredentials(auth), signal },
  );
});
