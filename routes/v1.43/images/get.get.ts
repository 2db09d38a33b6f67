import { saveNames } from "../../../lib/docker/transfer.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { binaryResponse } from "../../../lib/server/streams.ts";
import { saveImages } from "../../../lib/service/image-save.ts";

/** GET /images/get?names=a&names=b: several images in one tar archive. */
export default defineRoute(async (request) => binaryResponse(await saveImages(request.scope, saveNames(request.all("names")), request.signal), "application/x-tar"));
