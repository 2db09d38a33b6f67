import { defineRoute } from "../../../../lib/server/route.ts";
import { imageHistory } from "../../../../lib/service/images.ts";

export default defineRoute((request) => imageHistory(request.scope, { name: request.param("name") }));
