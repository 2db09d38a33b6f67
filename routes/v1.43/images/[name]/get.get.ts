import { saveNames } from "../../../../lib/docker/transfer.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { binaryResponse } from "../../../../lib/server/streams.ts";
import { saveImages } from "../../../../lib/service/image-save.ts";

/** GET /images/{name}/get: the image as a tar archive, streamed out of nerdctl save. */
export default defineRoute(async (request) => binaryResponse(await saveImages(request.scope, saveNames([request.param("name")]), request.signal), "application/x-tar"));
