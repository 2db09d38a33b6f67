import { defineHandler, getQuery } from "h3";
import { badParameter } from "../../../../lib/errors.ts";
import { STDERR, STDOUT } from "../../../../lib/docker/stdcopy.ts";
import { hasTerminal, logsArgs, streamLogs } from "../../../../lib/nerdctl/logs.ts";
import { compareVersions } from "../../../../lib/server/api-version.ts";
import { useApiVersion, useNerdctl, useParam } from "../../../../lib/server/context.ts";
import { multiplex } from "../../../../lib/server/multiplex.ts";
import { queryFlag } from "../../../../lib/server/query.ts";
import { binaryResponse, clientGone } from "../../../../lib/server/streams.ts";

export default defineHandler(async (event) => {
  const query = getQuery(event);
  const stdout = queryFlag(query.stdout);
  const stderr = queryFlag(query.stderr);
  if (!stdout && !stderr) throw badParameter("Bad parameters: you must choose at least one stream");
  const nerdctl = useNerdctl(event);
  const ref = useParam(event, "id");
  const args = logsArgs(ref, {
    follow: queryFlag(query.follow),
    timestamps: queryFlag(query.timestamps),
    since: typeof query.since === "string" ? query.since : undefined,
    until: typeof query.until === "string" ? query.until : undefined,
    tail: typeof query.tail === "string" ? query.tail : undefined,
  });
  // Asked first: a missing container is a 404 before any stream starts, and a terminal means no frames.
  const tty = await hasTerminal(nerdctl, ref);
  const child = streamLogs(nerdctl, args, clientGone(event));
  const merged = multiplex(
    [
      { stream: STDOUT, readable: child.stdout, wanted: stdout },
      { stream: STDERR, readable: child.stderr, wanted: stderr },
    ],
    !tty,
  );
  const contentType =
    !tty && compareVersions(useApiVersion(event), "1.42") >= 0 ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";
  return binaryResponse(merged, contentType, () => child.kill());
});
