import { defineRoute } from "../../lib/server/route.ts";
import { systemInfo } from "../../lib/service/system.ts";

export default defineRoute((request) => systemInfo(request.scope));
