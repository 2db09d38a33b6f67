import { defineHandler } from "h3";
import { loadImages } from "../../../lib/nerdctl/transfer.ts";
import { useNerdctl } from "../../../lib/server/context.ts";
import { clientGone, jsonMessagesResponse, requestBody } from "../../../lib/server/streams.ts";

/** POST /images/load: the tar body streamed into nerdctl load (`quiet` changes nothing: no progress is sent). */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  return jsonMessagesResponse(await loadImages(useNerdctl(event), requestBody(event), signal));
});
