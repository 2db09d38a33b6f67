import { defineHandler } from "h3";
import { conflict, DockerError } from "../../../lib/docker/errors.ts";
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
    if (error instanceof DockerError && error.status === 409) throw conflict(`remove ${name}: volume is in use`);
    throw error;
  }
  event.res.status = 204;
  return null;
});
