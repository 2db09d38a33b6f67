import { defineHandler } from "h3";
import { inspectContainer, exportContainer } from "../../../../lib/nerdctl/containers.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";
import { binaryResponse, clientGone } from "../../../../lib/server/streams.ts";

export default defineHandler(async (event) => {
  const nerdctl = useNerdctl(event);
  const ref = useParam(event, "id");
  // Asked first, so a missing container is a 404 rather than a broken tar.
  await inspectContainer(nerdctl, ref);
  const child = exportContainer(nerdctl, ref, clientGone(event));
  return binaryResponse(child.stdout, "application/x-tar", () => child.kill());
});
