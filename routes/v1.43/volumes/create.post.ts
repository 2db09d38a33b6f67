import { parseVolumeCreate } from "../../../lib/docker/volumes.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { volumeCreate } from "../../../lib/service/volumes.ts";

export default defineRoute(async (request) => {
  const volume = await volumeCreate(request.scope, parseVolumeCreate(await request.json()));
  request.status(201);
  return volume;
});
