import { badParameter } from "../../../../lib/errors.ts";
import { defineRoute } from "../../../../lib/server/route.ts";
import { containerResize } from "../../../../lib/service/container-stdio.ts";

export default defineRoute(async (request) => {
  const height = request.integer("h") ?? 0;
  const width = request.integer("w") ?? 0;
  if (height < 0 || width < 0 || height > 65535 || width > 65535) throw badParameter("invalid terminal size");
  await containerResize(request.scope, request.param("id"), { height, width });
  return "";
});
