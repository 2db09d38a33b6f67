import { saveNames } from "../../../lib/docker/transfer.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { binaryResponse } from "../../../lib/server/streams.ts";
import { saveImages } from "../../../lib/service/image-save.ts";

/** GET /images/get?names=a&names=b: several images in one tar archive. */
export default defineRoute(async (request) => {
  const archive = await saveImages(request.scope, saveNames(request.all("names")), request.signal);
  return binaryResponse(archive, "application/x-tar");
});
