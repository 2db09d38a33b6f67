import { defineHandler } from "h3";
import { toVolume } from "../../../lib/docker/volumes.ts";
import { directoryCreatedAt } from "../../../lib/host.ts";
import { inspectVolumes } from "../../../lib/nerdctl/volumes.ts";
import { useNerdctl, useParam } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const [volume] = await inspectVolumes(useNerdctl(event), [useParam(event, "name")]);
  const created = await directoryCreatedAt([volume!.Mountpoint]);
  return toVolume(volume!, created.get(volume!.Mountpoint) ?? "");
});
