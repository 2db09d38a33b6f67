import { defineHandler, getQuery } from "h3";
import { Filters } from "../../lib/docker/filters.ts";
import { selectVolumes, toVolume, VOLUME_FILTERS, volumeDirectory } from "../../lib/docker/volumes.ts";
import { createdAtOf } from "../../lib/host/facts.ts";
import { volumeSnapshot } from "../../lib/nerdctl/volumes.ts";
import { useNerdctl } from "../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const filters = Filters.parse(getQuery(event).filters, VOLUME_FILTERS);
  const volumes = selectVolumes(await volumeSnapshot(useNerdctl(event)), filters);
  const created = await createdAtOf(volumes.map(volumeDirectory));
  return { Volumes: volumes.map((volume) => toVolume(volume, created.get(volumeDirectory(volume)) ?? "")), Warnings: null };
});
