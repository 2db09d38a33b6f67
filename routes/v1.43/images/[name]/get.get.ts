import { saveNames } from "../../../../lib/docker/transfer.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { binaryResponse } from "../../../../lib/server/streams.ts";
import { saveImages } from "../../../../lib/service/image-save.ts";

/** GET /images/{name}/get: the image as a tar archive, streamed out of nerdctl save. */
export default defineRoute(async (request) => {
  const archive = await saveImages(request.scope, saveNames([request.param("name")]), request.signal);
  return binaryResponse(archive, "application/x-tar");
});
