import { parseExecStart } from "../../../../lib/docker/exec.ts";
import { outputContentType } from "../../../../lib/docker/stdcopy.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { execStart } from "../../../../lib/service/exec.ts";

export default defineRoute(async (request) => {
  const options = parseExecStart(await request.json(), request.since("1.42"));
  const run = await execStart(request.scope, request.param("id"), options);
  // Detached: started, and nothing to stream.
  if (!run) return "";
  return request.serve(outputContentType(!options.tty, request.since("1.42")), run);
});
