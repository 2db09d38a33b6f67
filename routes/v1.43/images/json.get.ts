import { IMAGE_LIST_FILTERS, imageListOptions } from "../../../lib/docker/image-list.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { listImages } from "../../../lib/service/images.ts";

export default defineRoute((request) =>
  listImages(
    request.scope,
    imageListOptions({
      filters: request.filters(IMAGE_LIST_FILTERS),
      filter: request.text("filter"),
      all: request.flag("all"),
      sharedSize: request.flag("shared-size"),
      apiVersion: request.apiVersion,
    }),
  ),
);
