import { defineRoute } from "../../../../lib/server/route.ts";
import { binaryResponse } from "../../../../lib/server/streams.ts";
import { containerExport } from "../../../../lib/service/container-reads.ts";

export default defineRoute(async (request) => {
  const { tar, stop } = await containerExport(request.scope, request.param("id"), request.signal);
  return binaryResponse(tar, "application/x-tar", stop);
});
