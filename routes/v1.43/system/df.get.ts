import { parseDiskUsageTypes } from "../../../lib/docker/system-df.ts";
import { defineRoute } from "../../../lib/server/route.ts";
import { diskUsage } from "../../../lib/service/system-df.ts";

/** GET /system/df: images, containers, volumes and build cache with their sizes (`type` picks some). */
export default defineRoute((request) => diskUsage(request.scope, parseDiskUsageTypes(request.all("type")), request.apiVersion));
