import { defineHandler, getQuery } from "h3";
import { toTopResponse } from "../../../../lib/docker/containers.ts";
import { top } from "../../../../lib/nerdctl/containers.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const psArgs = getQuery(event).ps_args;
  const table = await top(useNerdctl(event), useParam(event, "id"), typeof psArgs === "string" ? psArgs : "");
  return toTopResponse(table);
});
