import { defineRoute } from "../../../lib/server/route.ts";
import { removeImage } from "../../../lib/service/images.ts";

// `noprune` keeps untagged parent images in dockerd; images here have no parent chain, so it changes nothing.
export default defineRoute((request) => removeImage(request.scope, { name: request.param("name"), force: request.flag("force") }));
