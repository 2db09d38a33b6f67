import { defineHandler } from "h3";
import { probeHost } from "../../lib/host/facts.ts";
import { toSystemInfo } from "../../lib/docker/system.ts";
import { systemSnapshot } from "../../lib/nerdctl/system.ts";
import { useNerdctl, useServices } from "../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const services = useServices(event);
  const [snapshot, host] = await Promise.all([systemSnapshot(useNerdctl(event)), probeHost()]);
  return toSystemInfo(snapshot, services.facts(), host);
});
