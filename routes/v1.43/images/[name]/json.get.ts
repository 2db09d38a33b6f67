import { defineHandler } from "h3";
import { inspectImage } from "../../../../lib/nerdctl/images.ts";
import { useNerdctl, useParam, useServices } from "../../../../lib/server/context.ts";
import { checkImageName } from "../../../../lib/reference.ts";

export default defineHandler(async (event) => {
  const name = checkImageName(useParam(event, "name"));
  const driver = useServices(event).facts().env.CONTAINERD_SNAPSHOTTER || "overlayfs";
  return inspectImage(useNerdctl(event), name, { driver });
});
