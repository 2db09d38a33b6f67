import type { EventQuery } from "../../docker/events.ts";
import type { Scope } from "../scope.ts";
import type { EventSubscription } from "./bus.ts";

/** GET /events: the namespace's buffered events in range, then its live ones, shared with every other client. */
export function subscribeEvents(scope: Scope, query: EventQuery): EventSubscription {
  return scope.events.subscribe(query);
}
