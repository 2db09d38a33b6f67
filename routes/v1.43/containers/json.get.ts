import { CONTAINER_FILTERS } from "../../../lib/docker/container-selection.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { containerList } from "../../../lib/service/container-reads.ts";

export default defineRoute((request) =>
  containerList(request.scope, {
    all: request.flag("all"),
    limit: request.integer("limit") ?? -1,
    size: request.flag("size"),
    filters: request.filters(CONTAINER_FILTERS),
  }),
);
