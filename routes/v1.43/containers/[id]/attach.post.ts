import { parseDetachKeys } from "../../../../lib/docker/exec-detach.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerAttach } from "../../../../lib/service/container-stdio.ts";

export default defineRoute(async (request) => {
  const attach = await containerAttach(
    request.scope,
    request.param("id"),
    {
      stream: request.flag("stream"),
      logs: request.flag("logs"),
      stdin: request.flag("stdin"),
      stdout: request.flag("stdout"),
      stderr: request.flag("stderr"),
      detachKeys: parseDetachKeys(request.text("detachKeys") ?? ""),
    },
    request.since("1.42"),
  );
  return request.serve(attach.contentType, (connection) => attach.run(connection));
});
