import { defineHandler, readBody } from "h3";
import { parseNetworkCreate } from "../../../lib/docker/networks.ts";
import { createNetwork } from "../../../lib/nerdctl/networks.ts";
import { useNerdctl } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const id = await createNetwork(useNerdctl(event), parseNetworkCreate(await readBody(event)));
  event.res.status = 201;
  return { Id: id, Warning: "" };
});
