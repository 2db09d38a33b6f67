import { defineHandler } from "h3";
import { assertCommitChanges } from "../../lib/docker/transfer.ts";
import { commitContainer, freeText } from "../../lib/nerdctl/transfer.ts";
import { assertObjectName } from "../../lib/nerdctl/validate.ts";
import { useNerdctl } from "../../lib/server/context.ts";
import { queryFlag } from "../../lib/server/query.ts";
import { clientGone } from "../../lib/server/streams.ts";
import { repositoryTag } from "../../lib/reference.ts";

/** POST /commit: a container's changes as a new image; 201 {"Id": …}. */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  const query = event.url.searchParams;
  const container = assertObjectName("container", query.get("container") ?? "");
  const repo = query.get("repo");
  const comment = query.get("comment");
  const author = query.get("author");
  const pause = query.get("pause");
  const id = await commitContainer(
    useNerdctl(event),
    {
      container,
      ...(repo ? { reference: repositoryTag(repo, query.get("tag") || undefined) } : {}),
      ...(comment ? { comment: freeText("comment", comment) } : {}),
      ...(author ? { author: freeText("author", author) } : {}),
      changes: assertCommitChanges(query.getAll("changes").filter(Boolean)),
      // dockerd pauses unless told not to.
      pause: pause === null || pause === "" ? true : queryFlag(pause),
    },
    signal,
  );
  event.res.status = 201;
  return { Id: id };
});
