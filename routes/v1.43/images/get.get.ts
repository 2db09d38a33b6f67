import { defineHandler } from "h3";
import { badParameter } from "../../../lib/errors.ts";
import { saveImages } from "../../../lib/nerdctl/transfer.ts";
import { useNerdctl } from "../../../lib/server/context.ts";
import { binaryResponse, clientGone } from "../../../lib/server/streams.ts";
import { assertImageName } from "../../../lib/reference.ts";

/** GET /images/get?names=a&names=b: several images in one tar archive. */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  const names = event.url.searchParams.getAll("names").filter(Boolean).map(assertImageName);
  if (names.length === 0) throw badParameter("no image names given: use names=<image> (repeatable)");
  const archive = await saveImages(useNerdctl(event), [...new Set(names)], signal);
  return binaryResponse(archive, "application/x-tar");
});
