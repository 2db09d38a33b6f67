import { pushAuth, pushReference } from "../../../../lib/docker/transfer.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { jsonMessagesResponse } from "../../../../lib/server/streams.ts";
import { pushImage } from "../../../../lib/service/transfer.ts";

/** POST /images/{name}/push: progress streamed, failures in the stream, as dockerd. */
export default defineRoute(async (request) => {
  const header = request.header("X-Registry-Auth");
  // Old clients send the credentials as the body instead.
  const body = header ? undefined : await request.smallBody().catch(() => "");
  const reference = pushReference(request.param("name"), request.nonEmpty("tag"));
  const push = pushImage(request.scope, { reference, auth: pushAuth(header, body) }, request.signal);
  return jsonMessagesResponse(push.messages, push.kill);
});
