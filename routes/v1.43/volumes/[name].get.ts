import { defineHandler } from "h3";
import { toVolume, volumeDirectory } from "../../../lib/docker/volumes.ts";
import { createdAtOf } from "../../../lib/host/facts.ts";
import { inspectVolumes } from "../../../lib/nerdctl/volumes.ts";
import { useNerdctl, useParam } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const [volume] = await inspectVolumes(useNerdctl(event), [useParam(event, "name")]);
  const created = await createdAtOf([volumeDirectory(volume!)]);
  return toVolume(volume!, created.get(volumeDirectory(volume!)) ?? "");
});
