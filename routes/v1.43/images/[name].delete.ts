import { defineHandler, getQuery } from "h3";
import { removeImage } from "../../../lib/nerdctl/images.ts";
import { useNerdctl, useParam } from "../../../lib/server/context.ts";
import { queryFlag } from "../../../lib/server/query.ts";
import { checkImageName } from "../../../lib/reference.ts";

// `noprune` keeps untagged parent images in dockerd; images here have no parent chain, so it changes nothing.
export default defineHandler(async (event) => {
  const query = getQuery(event);
  const name = checkImageName(useParam(event, "name"));
  return removeImage(useNerdctl(event), name, { force: queryFlag(query.force) });
});
