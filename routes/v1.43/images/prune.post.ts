import { IMAGE_PRUNE_FILTERS } from "../../../lib/docker/image-removal.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { pruneImages } from "../../../lib/service/images.ts";

export default defineRoute((request) => pruneImages(request.scope, { filters: request.filters(IMAGE_PRUNE_FILTERS) }));
