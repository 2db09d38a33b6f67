import { parseImageCreate } from "../../../lib/docker/transfer.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { jsonMessagesResponse } from "../../../lib/server/streams.ts";
import { createImage } from "../../../lib/service/transfer.ts";

/** POST /images/create: pull (`fromImage`) or import a root filesystem tarball (`fromSrc`). */
export default defineRoute(async (request) => {
  const query = parseImageCreate({
    fromImage: request.nonEmpty("fromImage"),
    fromSrc: request.nonEmpty("fromSrc"),
    repo: request.nonEmpty("repo"),
    tag: request.nonEmpty("tag"),
    message: request.nonEmpty("message"),
    platform: request.nonEmpty("platform"),
    changes: request.all("changes").filter(Boolean),
    registryAuth: request.header("X-Registry-Auth"),
  });
  const created = await createImage(request.scope, query, request.body(), request.signal);
  return jsonMessagesResponse(created.messages, created.kill);
});
