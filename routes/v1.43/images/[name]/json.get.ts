import { defineRoute } from "../../../../lib/server/route.ts";
import { inspectImage } from "../../../../lib/service/images.ts";

export default defineRoute((request) => inspectImage(request.scope, { name: request.param("name") }));
