import { defineRoute } from "../../../lib/server/route.ts";
import { jsonMessagesResponse } from "../../../lib/server/streams.ts";
import { loadImages } from "../../../lib/service/transfer.ts";

/** POST /images/load: the tar body streamed into nerdctl load (`quiet` changes nothing: no progress is sent). */
export default defineRoute(async (request) => jsonMessagesResponse(await loadImages(request.scope, request.body(), request.signal)));
