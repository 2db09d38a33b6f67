import { defineHandler, getQuery } from "h3";
import { diskUsage, parseDiskUsageTypes } from "../../../lib/docker/system-df.ts";
import { useApiVersion, useNerdctl } from "../../../lib/server/context.ts";

/** GET /system/df: images, containers, volumes and build cache with their sizes (`type` picks some). */
export default defineHandler((event) => {
  const types = parseDiskUsageTypes(getQuery(event).type);
  return diskUsage(useNerdctl(event), types, useApiVersion(event));
});
