import { defineHandler } from "h3";
import { toSystemVersion } from "../../lib/docker/system.ts";
import { version } from "../../lib/nerdctl/system.ts";
import { useNerdctl, useServices } from "../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const services = useServices(event);
  return toSystemVersion(await version(useNerdctl(event)), services.facts());
});
