import { defineRoute } from "../../../../lib/server/route.ts";
import { tagImage } from "../../../../lib/service/images.ts";

export default defineRoute(async (request) => {
  await tagImage(request.scope, { name: request.param("name"), repo: request.text("repo") ?? "", tag: request.text("tag") ?? "" });
  request.status(201);
  return "";
});
