import { defineHandler } from "h3";
import { saveImages } from "../../../../lib/nerdctl/transfer.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";
import { binaryResponse, clientGone } from "../../../../lib/server/streams.ts";
import { assertImageName } from "../../../../lib/reference.ts";

/** GET /images/{name}/get: the image as a tar archive, streamed out of nerdctl save. */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  const name = assertImageName(useParam(event, "name"));
  const archive = await saveImages(useNerdctl(event), [name], signal);
  return binaryResponse(archive, "application/x-tar");
});
