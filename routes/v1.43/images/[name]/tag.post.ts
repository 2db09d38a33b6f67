import { defineHandler, getQuery } from "h3";
import { tagImage } from "../../../../lib/nerdctl/images.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";
import { checkImageName, tagReference } from "../../../../lib/reference.ts";

export default defineHandler(async (event) => {
  const query = getQuery(event);
  const repo = typeof query.repo === "string" ? query.repo : "";
  const tag = typeof query.tag === "string" ? query.tag : "";
  // dockerd checks the new name before it looks the image up.
  tagReference(repo, tag);
  const name = checkImageName(useParam(event, "name"));
  await tagImage(useNerdctl(event), name, repo, tag);
  event.res.status = 201;
  return "";
});
