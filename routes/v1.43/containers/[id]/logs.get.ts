import { parseLogsQuery } from "../../../../lib/docker/logs.ts";
import { outputContentType } from "../../../../lib/docker/stdcopy.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { binaryResponse } from "../../../../lib/server/streams.ts";
import { containerLogs } from "../../../../lib/service/logs.ts";

export default defineRoute(async (request) => {
  const query = parseLogsQuery({
    stdout: request.flag("stdout"),
    stderr: request.flag("stderr"),
    follow: request.flag("follow"),
    timestamps: request.flag("timestamps"),
    since: request.text("since"),
    until: request.text("until"),
    tail: request.text("tail"),
  });
  const logs = await containerLogs(request.scope, request.param("id"), query, request.signal);
  return binaryResponse(logs.stream, outputContentType(logs.framed, request.since("1.42")), logs.stop, { live: true });
});
