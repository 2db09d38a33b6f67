import { defineRoute } from "../../../../lib/server/route.ts";
import { pullStream } from "../../../../lib/server/streams.ts";
import { containerStats } from "../../../../lib/service/stats.ts";

export default defineRoute(async (request) => {
  const stats = await containerStats(request.scope, request.param("id"), {
    stream: request.flag("stream", true),
    oneShot: request.flag("one-shot"),
  });
  if (!("lines" in stats)) return stats;
  return new Response(pullStream(stats.lines, stats.stop), { headers: { "Content-Type": "application/json" } });
});
