import { defineHandler } from "h3";
import { badParameter } from "../../../lib/errors.ts";
import { decodeRegistryAuth } from "../../../lib/docker/transfer.ts";
import { freeText, importImage, importSource, platformSpec, pullImage } from "../../../lib/nerdctl/transfer.ts";
import { useNerdctl } from "../../../lib/server/context.ts";
import { clientGone, jsonMessagesResponse, requestBody } from "../../../lib/server/streams.ts";
import { imageReference, pullReference, repositoryTag, tagOrDigest } from "../../../lib/reference.ts";

/** POST /images/create: pull (`fromImage`) or import a root filesystem tarball (`fromSrc`). */
export default defineHandler(async (event) => {
  const signal = clientGone(event);
  const query = event.url.searchParams;
  const nerdctl = useNerdctl(event);
  const platform = query.get("platform") ? platformSpec(query.get("platform")!) : undefined;
  const tag = query.get("tag") || undefined;
  const fromImage = query.get("fromImage");
  if (fromImage) {
    const reference = pullReference(imageReference(fromImage), tag === undefined ? undefined : tagOrDigest(tag));
    // As dockerd: unreadable credentials mean an anonymous pull.
    const auth = decodeRegistryAuth(event.req.headers.get("X-Registry-Auth") ?? "");
    const pull = await pullImage(nerdctl, { reference, ...(platform ? { platform } : {}), ...(auth ? { auth } : {}) }, signal);
    return jsonMessagesResponse(pull.messages, pull.kill);
  }
  const fromSrc = query.get("fromSrc");
  if (fromSrc) {
    const source = importSource(fromSrc);
    const repo = query.get("repo");
    const message = query.get("message");
    const status = await importImage(
      nerdctl,
      {
        source,
        ...(source === "-" ? { body: requestBody(event) } : {}),
        ...(repo ? { reference: repositoryTag(repo, tag) } : {}),
        ...(message ? { message: freeText("message", message) } : {}),
        ...(platform ? { platform } : {}),
        changes: query.getAll("changes").filter(Boolean),
      },
      signal,
    );
    return jsonMessagesResponse([status]);
  }
  throw badParameter("either fromImage (pull) or fromSrc (import) is required");
});
