import { defineHandler } from "h3";
import { notImplemented } from "../errors.ts";

/** A Docker operation the engine cannot do at all: a 501 that says why, instead of a generic one. */
export function unsupported(reason: string) {
  return defineHandler((event) => {
    throw notImplemented(`${event.req.method} ${event.url.pathname} is not supported: ${reason}`);
  });
}
