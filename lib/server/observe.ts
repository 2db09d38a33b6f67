import type { H3Event } from "h3";
import type { Logger } from "../log.ts";

/** The response header carrying a request's id, which the daemon's log lines about it carry too. */
export const REQUEST_ID_HEADER = "X-Request-Id";

/** The route label of a request that matched no operation (or was refused before routing). */
export const UNMATCHED_ROUTE = "other";

/** What the app tracks of a request while it is served (event.context). */
export interface RequestTrace {
  requestId: string;
  startedAt: number;
  /** The operation's template (`/containers/{id}/json`), never the raw path. */
  route: string;
  /** The message of the error the request ended with. */
  error?: string;
}

/** A request the daemon has answered (for a hijacked connection: whose stream has ended). */
export interface ServedRequest {
  id: string;
  method: string;
  /** The path and query as the client sent them (for the log only). */
  path: string;
  route: string;
  status: number;
  durationMs: number;
  error?: string;
}

export function traceOf(event: H3Event): RequestTrace | undefined {
  const trace = (event.context as { trace?: RequestTrace }).trace;
  return trace;
}

/** The id of the request an event is for ("" outside the app). */
export function requestIdOf(event: H3Event): string {
  return traceOf(event)?.requestId ?? "";
}

/** 501 and 503 say what nerdctld does not serve (swarm, another namespace's builds): answers, not failures. */
const failed = (status: number) => status >= 500 && status !== 501 && status !== 503;

/**
 * The request log: a line per request with --debug; without, only the
 * requests that failed on the daemon's side (500, 502), so that the id a
 * client saw leads to what went wrong.
 */
export function requestLog(log: Logger, debug: boolean): (request: ServedRequest) => void {
  return (request) => {
    if (!debug && !failed(request.status)) return;
    const fields = {
      method: request.method,
      path: request.path,
      status: request.status,
      duration_ms: Math.round(request.durationMs),
      request_id: request.id,
      error: request.error,
    };
    if (failed(request.status)) log.error("request", fields);
    else log.debug("request", fields);
  };
}
