import { defineHandler } from "h3";
import { checkImageName } from "../../../../lib/docker/images.ts";
import { getImageHistory } from "../../../../lib/nerdctl/images.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  return getImageHistory(useNerdctl(event), checkImageName(useParam(event, "name")));
});
