import { defineHandler } from "h3";
import { dockerConfigForRegistries, parseBuildQuery } from "../../lib/docker/build.ts";
import { buildImage } from "../../lib/nerdctl/build.ts";
import { dockerfileIn, receiveBuildContext } from "../../lib/server/build-context.ts";
import { useNerdctl } from "../../lib/server/context.ts";
import { clientGone, jsonMessagesResponse, requestBody } from "../../lib/server/streams.ts";

/**
 * POST /build, the classic builder API (what the docker CLI uses with
 * DOCKER_BUILDKIT=0): the tar context received and checked into a temporary
 * directory, then `nerdctl build` on it, its output streamed as dockerd's.
 */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  const request = parseBuildQuery(event.url.searchParams);
  const nerdctl = useNerdctl(event);
  const dockerConfig = dockerConfigForRegistries(event.req.headers.get("X-Registry-Config"));
  const dir = await receiveBuildContext(requestBody(event), { signal });
  let dockerfilePath: string;
  try {
    dockerfilePath = await dockerfileIn(dir, request.dockerfile);
  } catch (error) {
    await dir.remove();
    throw error;
  }
  const build = await buildImage(nerdctl, { request, dir, dockerfilePath, ...(dockerConfig ? { dockerConfig } : {}) }, signal);
  return jsonMessagesResponse(build.messages, build.kill);
});
