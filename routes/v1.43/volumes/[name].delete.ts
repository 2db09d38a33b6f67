import { defineHandler } from "h3";
import { conflict, isKind } from "../../../lib/errors.ts";
import { inspectVolumes, removeVolumes } from "../../../lib/nerdctl/volumes.ts";
import { useNerdctl, useParam } from "../../../lib/server/context.ts";

export default defineHandler(async (event) => {
  const nerdctl = useNerdctl(event);
  const name = useParam(event, "name");
  // nerdctl says nothing precise when the volume is missing: ask first, for dockerd's 404.
  await inspectVolumes(nerdctl, [name]);
  try {
    await removeVolumes(nerdctl, [name]);
  } catch (error) {
    // nerdctl's own words are "some volumes could not be removed"; dockerd's say why.
    if (isKind(error, "conflict")) throw conflict(`remove ${name}: volume is in use`);
    throw error;
  }
  event.res.status = 204;
  return null;
});
