import { defineHandler } from "h3";
import { PING_HEADERS } from "../../lib/server/headers.ts";

export default defineHandler((event) => {
  for (const [name, value] of Object.entries(PING_HEADERS)) event.res.headers.set(name, value);
  event.res.headers.set("Content-Length", "0");
  return "";
});
