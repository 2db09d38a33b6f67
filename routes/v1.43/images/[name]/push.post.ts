import { defineHandler } from "h3";
import { badParameter } from "../../../../lib/errors.ts";
import { decodeRegistryAuth, type RegistryAuth } from "../../../../lib/docker/transfer.ts";
import { pushImage } from "../../../../lib/nerdctl/transfer.ts";
import { useNerdctl, useParam } from "../../../../lib/server/context.ts";
import { clientGone, jsonMessagesResponse, readSmallBody } from "../../../../lib/server/streams.ts";
import { assertTag, imageReference } from "../../../../lib/reference.ts";

/** POST /images/{name}/push: progress streamed, failures in the stream, as dockerd. */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  const name = imageReference(useParam(event, "name"));
  if (name.digest !== undefined) throw badParameter("cannot push a digest reference: push a tag");
  const tag = event.url.searchParams.get("tag");
  const reference = { domain: name.domain, path: name.path, tag: tag ? assertTag(tag) : (name.tag ?? "latest") };
  const header = event.req.headers.get("X-Registry-Auth");
  let auth: RegistryAuth | undefined;
  if (header) {
    auth = decodeRegistryAuth(header);
  } else {
    // dockerd's fallback for old clients: the credentials as the JSON body; none at all is refused.
    const body = await readSmallBody(event).catch(() => "");
    auth = body.trim() ? decodeRegistryAuth(Buffer.from(body).toString("base64")) : undefined;
    if (!body.trim() || auth === undefined) throw badParameter("Bad parameters and missing X-Registry-Auth: EOF");
  }
  const push = pushImage(useNerdctl(event), { reference, ...(auth ? { auth } : {}) }, signal);
  return jsonMessagesResponse(push.messages, push.kill);
});
