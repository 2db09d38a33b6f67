import { parseEventQuery } from "../../lib/docker/events.ts";
import { eventsResponse } from "../../lib/server/events-response.ts";
import { defineRoute } from "../../lib/server/route.ts";
import { subscribeEvents } from "../../lib/service/events/subscribe.ts";

/** GET /events: buffered events (since/until), then live ones, shared with every other client. */
export default defineRoute((request) => {
  const query = parseEventQuery({ since: request.text("since"), until: request.text("until"), filters: request.text("filters") });
  return eventsResponse(subscribeEvents(request.scope, query), request.event);
});
