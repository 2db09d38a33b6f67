import { defineRoute } from "../../lib/server/route.ts";
import { systemVersion } from "../../lib/service/system.ts";

export default defineRoute((request) => systemVersion(request.scope));
