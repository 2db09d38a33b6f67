import { defineHandler } from "h3";
import { inspectVolumes, removeVolumes } from "../../../lib/nerdctl/volumes.ts";
import { useNerdctl, useParam } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const nerdctl = useNerdctl(event);
  const name = useParam(event, "name");
  // nerdctl says nothing precise when the volume is missing: ask first, for dockerd's 404.
  await inspectVolumes(nerdctl, [name]);
  await removeVolumes(nerdctl, [name]);
  event.res.status = 204;
  return null;
});
