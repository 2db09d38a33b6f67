import { defineHandler, readBody } from "h3";
import { parseVolumeCreate, toVolume, volumeDirectory } from "../../../lib/docker/volumes.ts";
import { createdAtOf } from "../../../lib/host/facts.ts";
import { anonymousVolumeName, createVolume } from "../../../lib/nerdctl/volumes.ts";
import { useNerdctl } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const request = parseVolumeCreate(await readBody(event));
  const volume = await createVolume(useNerdctl(event), { name: request.name ?? anonymousVolumeName(), labels: request.labels });
  const created = await createdAtOf([volumeDirectory(volume)]);
  event.res.status = 201;
  return toVolume(volume, created.get(volumeDirectory(volume)) ?? "");
});
