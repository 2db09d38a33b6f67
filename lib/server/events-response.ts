import type { ServerResponse } from "node:http";
import type { H3Event } from "h3";
import { encodeEvent } from "../docker/events.ts";
import { whenClientGone } from "../io/signals.ts";
import type { EventSubscription } from "../service/events/bus.ts";
import { clientGone } from "./streams.ts";

/**
 * GET /events' response: one JSON document per line, pulled as the client
 * reads. Closed at once when the client goes away; aborted (the client sees
 * the connection end) when the subscription is dropped.
 */
export function eventsResponse(subscription: EventSubscription, event: H3Event): Response {
  const iterator = subscription[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  whenClientGone(clientGone(event), () => subscription.close());
  // dockerd sends the status and headers before any event (clients wait for them); Node holds them
  // until the first body bytes unless told. The first pull comes after the server wrote the head.
  const nodeResponse = (event.runtime as { node?: { res?: ServerResponse } } | undefined)?.node?.res;
  let flushed = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        subscription.onError((error) => {
          try {
            controller.error(error);
          } catch {
            // already closed
          }
        });
      },
      async pull(controller) {
        if (!flushed) {
          flushed = true;
          // headersSent is true once the head is written, sent or not; flushHeaders sends it if it was not.
          if (nodeResponse && !nodeResponse.destroyed) nodeResponse.flushHeaders();
        }
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(encoder.encode(encodeEvent(value)));
        } catch (error) {
          try {
            controller.error(error);
          } catch {
            // already errored
          }
        }
      },
      async cancel() {
        subscription.close();
        await iterator.return?.(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
}
