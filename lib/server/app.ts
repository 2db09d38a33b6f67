import { H3, type EventHandler, type H3Event } from "h3";
import { DOCKER_API_OPERATIONS, isSwarmOperation, NOT_A_SWARM_MANAGER } from "../docker/api-operations.ts";
import { ApiError, forbidden, notFound, notImplemented } from "../errors.ts";
import { newRequestId } from "../log.ts";
import { errorResponseOf } from "./error-response.ts";
import { checkVersion, splitVersion } from "./api-version.ts";
import type { ServiceRoot } from "../service/scope.ts";
import { DEFAULT_BODY_IDLE_MS, type RequestContext } from "./context.ts";
import { daemonHeaders } from "./headers.ts";
import { upgradeOf } from "./hijack.ts";
import { REQUEST_ID_HEADER, traceOf, UNMATCHED_ROUTE, type RequestTrace, type ServedRequest } from "./observe.ts";
import { RouteTable, type RouteEntry } from "./resolve.ts";

export interface DaemonAppOptions {
  routes: RouteEntry<EventHandler>[];
  services: ServiceRoot;
  daemonVersion: string;
  /** Told of every request once it is answered (the request log, the metrics). */
  observe?: (request: ServedRequest) => void;
  /** Refuse every call that is not a read (GET, HEAD). */
  readOnly?: boolean;
  /** How long a JSON or auth body may go without a byte (60 s): a client trickling one holds nothing longer. */
  bodyIdleMs?: number;
}

const READS = new Set(["GET", "HEAD"]);

/**
 * The h3 app: one catch-all handler that gates the API version, resolves the
 * path against the route table (names with slashes included) and calls the
 * route's handler; everything that fails becomes Docker's `{"message": …}`.
 */
export function createDaemonApp(options: DaemonAppOptions): H3 {
  const table = new RouteTable(options.routes, DOCKER_API_OPERATIONS);
  const headers = daemonHeaders(options.daemonVersion);
  const observe = options.observe;

  const app = new H3({
    silent: true,
    onRequest: (event) => {
      const trace: RequestTrace = { requestId: newRequestId(), startedAt: performance.now(), route: UNMATCHED_ROUTE };
      Object.assign(event.context, { trace });
    },
    onError: (error, event) => {
      const { status, message } = errorResponseOf(error);
      const trace = traceOf(event);
      if (trace) trace.error = message;
      const answered: Record<string, string> = { ...headers, ...(trace ? { [REQUEST_ID_HEADER]: trace.requestId } : {}) };
      // The rest of a body refused part-way (too large, or stopped coming) is not read: the connection ends with the answer.
      if (status === 408 || status === 413) answered.Connection = "close";
      // A 304 has no body (HTTP forbids one): dockerd sends none either.
      if (status === 304) return new Response(null, { status, headers: answered });
      return new Response(`${JSON.stringify({ message })}\n`, {
        status,
        headers: { ...answered, "Content-Type": "application/json" },
      });
    },
    onResponse: observe
      ? (response, event) => {
          const trace = traceOf(event);
          if (!trace) return;
          observe({
            id: trace.requestId,
            method: event.req.method,
            path: `${event.url.pathname}${event.url.search}`,
            route: trace.route,
            // A hijacked connection was answered 101 on its socket; its stream has ended now.
            status: upgradeOf(event)?.taken ? 101 : response.status,
            durationMs: performance.now() - trace.startedAt,
            error: trace.error,
          });
        }
      : undefined,
  });

  app.all("/**", (event: H3Event) => {
    const trace = traceOf(event)!;
    for (const [name, value] of Object.entries(headers)) event.res.headers.set(name, value);
    event.res.headers.set(REQUEST_ID_HEADER, trace.requestId);
    const { version, path } = splitVersion(event.url.pathname);
    const refused = checkVersion(version);
    if (refused) throw refused;
    const resolution = table.resolve(event.req.method, path, version);
    if (resolution.kind === "route") trace.route = resolution.route.template.text;
    if (resolution.kind === "not-implemented") trace.route = resolution.operation.split(" ")[1]!;
    if (options.readOnly && !READS.has(event.req.method)) throw forbidden("the API is read-only: nerdctld serves reads only (--read-only-api)");
    switch (resolution.kind) {
      case "route": {
        const context: RequestContext = {
          services: options.services,
          apiVersion: version,
          params: resolution.params,
          bodyIdleMs: options.bodyIdleMs ?? DEFAULT_BODY_IDLE_MS,
        };
        Object.assign(event.context, context);
        return resolution.route.handler(event);
      }
      case "not-implemented":
        if (isSwarmOperation(resolution.operation.split(" ")[1]!)) throw new ApiError("unavailable", NOT_A_SWARM_MANAGER);
        throw notImplemented(`${event.req.method} ${path} is not implemented by nerdctld (Docker API operation ${resolution.operation})`);
      case "method-not-allowed":
        throw new ApiError("not-allowed", `${event.req.method} is not allowed on ${path}`);
      case "not-found":
        throw notFound("page not found");
    }
  });
  return app;
}
