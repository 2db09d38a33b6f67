import { defineRoute } from "../../../../lib/server/route.ts";
import { containerProcesses } from "../../../../lib/service/container-reads.ts";

export default defineRoute((request) => containerProcesses(request.scope, request.param("id"), request.text("ps_args") ?? ""));
