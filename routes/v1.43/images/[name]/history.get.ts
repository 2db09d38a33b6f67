import { defineHandler } from "h3";
import { getImageHistory } from "../../../../lib/nerdctl/images.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";
import { checkImageName } from "../../../../lib/reference.ts";

export default defineHandler(async (event) => {
  return getImageHistory(useNerdctl(event), checkImageName(useParam(event, "name")));
});
