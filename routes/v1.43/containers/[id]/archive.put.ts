import { defineRoute } from "../../../../lib/server/route.ts";
import { extractToContainer } from "../../../../lib/service/container-archive.ts";

export default defineRoute((request) =>
  extractToContainer(
    request.scope,
    request.param("id"),
    request.text("path") ?? "",
    { noOverwriteDirNonDir: request.flag("noOverwriteDirNonDir"), copyUIDGID: request.flag("copyUIDGID") },
    request.body(),
    request.signal,
  ),
);
