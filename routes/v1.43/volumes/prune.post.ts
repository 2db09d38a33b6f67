import { defineHandler, getQuery } from "h3";
import { Filters } from "../../../lib/docker/filters.ts";
import { pruneCandidates, VOLUME_PRUNE_FILTERS } from "../../../lib/docker/volumes.ts";
import { removeVolumes, volumeSnapshot } from "../../../lib/nerdctl/volumes.ts";
import { compareVersions } from "../../../lib/docker/api-version.ts";
import { useApiVersion, useNerdctl } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const filters = Filters.parse(getQuery(event).filters, VOLUME_PRUNE_FILTERS);
  const nerdctl = useNerdctl(event);
  const candidates = pruneCandidates(await volumeSnapshot(nerdctl, { size: true }), filters, compareVersions(useApiVersion(event), "1.42") >= 0);
  await removeVolumes(nerdctl, candidates.map((volume) => volume.Name));
  return {
    VolumesDeleted: candidates.map((volume) => volume.Name),
    SpaceReclaimed: candidates.reduce((total, volume) => total + (volume.Size ?? 0), 0),
  };
});
