import { notFound } from "../../../../lib/errors.ts";
import { defineRoute } from "../../../../lib/server/route.ts";

// No plugin can exist (see plugins.get.ts): dockerd's 404, which `docker inspect` reads as "not a plugin".
export default defineRoute((request) => {
  throw notFound(`plugin "${request.param("name")}" not found`);
});
