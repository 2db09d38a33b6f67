import { defineHandler } from "h3";
import { toContainerInspect } from "../../../../lib/docker/containers.ts";
import { imageIdentities, inspectContainer } from "../../../../lib/nerdctl/containers.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const nerdctl = useNerdctl(event);
  const container = await inspectContainer(nerdctl, useParam(event, "id"));
  const images = await imageIdentities(nerdctl, [container.Image]);
  return toContainerInspect(container, images.get(container.Image));
});
