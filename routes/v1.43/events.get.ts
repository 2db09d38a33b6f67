import { defineHandler, getQuery } from "h3";
import { parseEventQuery } from "../../lib/docker/events.ts";
import { useEventHub, useNerdctl } from "../../lib/server/context.ts";
import { eventsResponse } from "../../lib/server/event-hub.ts";

/** GET /events: buffered events (since/until), then the engine's live ones, shared with every other client. */
export default defineHandler((event) => {
  const query = parseEventQuery(getQuery(event));
  const subscription = useEventHub(event).subscribe(useNerdctl(event), query);
  return eventsResponse(subscription, event);
});
