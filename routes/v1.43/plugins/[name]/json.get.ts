import { defineHandler } from "h3";
import { notFound } from "../../../../lib/errors.ts";
import { useParam } from "../../../../lib/server/context.ts";

// No plugin can exist (see plugins.get.ts): dockerd's 404, which `docker inspect` reads as "not a plugin".
export default defineHandler((event) => {
  throw notFound(`plugin "${useParam(event, "name")}" not found`);
});
