import { defineRoute } from "../../lib/server/route.ts";
import { commitContainer } from "../../lib/service/transfer.ts";

/** POST /commit: a container's changes as a new image; 201 {"Id": …}. */
export default defineRoute(async (request) => {
  const created = await commitContainer(
    request.scope,
    request.text("container") ?? "",
    {
      repo: request.nonEmpty("repo"),
      tag: request.nonEmpty("tag"),
      comment: request.nonEmpty("comment"),
      author: request.nonEmpty("author"),
      changes: request.all("changes").filter(Boolean),
      // dockerd pauses unless told not to.
      pause: request.nonEmpty("pause") === undefined || request.flag("pause"),
    },
    request.signal,
  );
  request.status(201);
  return created;
});
