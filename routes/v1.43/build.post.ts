import { parseBuildQuery } from "../../lib/docker/build.ts";
import { dockerConfigForRegistries } from "../../lib/docker/registry-auth.ts";
import { defineRoute } from "../../lib/server/route.ts";
import { jsonMessagesResponse } from "../../lib/server/streams.ts";
import { buildImage } from "../../lib/service/build.ts";

/**
 * POST /build, the classic builder API (what the docker CLI uses with
 * DOCKER_BUILDKIT=0): the tar context received and checked into a temporary
 * directory, then `nerdctl build` on it, its output streamed as dockerd's.
 */
export default defineRoute(async (request) => {
  const build = await buildImage(
    request.scope,
    {
      request: parseBuildQuery(request.query),
      dockerConfig: dockerConfigForRegistries(request.header("X-Registry-Config")),
      context: request.body(),
    },
    request.signal,
  );
  return jsonMessagesResponse(build.messages, build.kill);
});
