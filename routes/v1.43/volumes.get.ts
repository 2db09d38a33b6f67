import { VOLUME_FILTERS } from "../../lib/docker/volumes.ts";
import { defineRoute } from "../../lib/server/route.ts";
import { volumeList } from "../../lib/service/volumes.ts";

export default defineRoute((request) => volumeList(request.scope, request.filters(VOLUME_FILTERS)));
