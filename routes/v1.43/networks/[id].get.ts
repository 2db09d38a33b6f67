import { defineHandler } from "h3";
import { builtinByReference, toNetwork } from "../../../lib/docker/networks.ts";
import { createdAtOf } from "../../../lib/host/facts.ts";
import { inspectNetworkCompat, inspectNetworksNative } from "../../../lib/nerdctl/networks.ts";
import { useNerdctl, useParam } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const nerdctl = useNerdctl(event);
  const ref = builtinByReference(useParam(event, "id")) ?? useParam(event, "id");
  const [[native], attached] = await Promise.all([inspectNetworksNative(nerdctl, [ref]), inspectNetworkCompat(nerdctl, ref)]);
  const created = await createdAtOf([native!.File ?? ""]);
  return toNetwork(native!, created.get(native!.File ?? "") ?? "", attached);
});
