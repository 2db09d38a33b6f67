import { H3, type EventHandler, type H3Event } from "h3";
import { DOCKER_API_OPERATIONS, isSwarmOperation, NOT_A_SWARM_MANAGER } from "../docker/api-operations.ts";
import { ApiError, notFound, notImplemented } from "../errors.ts";
import { errorResponseOf } from "./error-response.ts";
import { checkVersion, splitVersion } from "./api-version.ts";
import type { ServiceRoot } from "../service/scope.ts";
import type { RequestContext } from "./context.ts";
import { daemonHeaders } from "./headers.ts";
import { RouteTable, type RouteEntry } from "./resolve.ts";

export interface DaemonAppOptions {
  routes: RouteEntry<EventHandler>[];
  services: ServiceRoot;
  daemonVersion: string;
  /** Called once per finished request when the daemon runs with --debug. */
  log?: (line: string) => void;
}

/**
 * The h3 app: one catch-all handler that gates the API version, resolves the
 * path against the route table (names with slashes included) and calls the
 * route's handler; everything that fails becomes Docker's `{"message": …}`.
 */
export function createDaemonApp(options: DaemonAppOptions): H3 {
  const table = new RouteTable(options.routes, DOCKER_API_OPERATIONS);
  const headers = daemonHeaders(options.daemonVersion);
  const log = options.log;

  const app = new H3({
    silent: true,
    onError: (error, event) => {
      const { status, message } = errorResponseOf(error);
      log?.(`${event.req.method} ${event.url.pathname}${event.url.search} -> ${status} ${message}`);
      // A 304 has no body (HTTP forbids one): dockerd sends none either.
      if (status === 304) return new Response(null, { status, headers });
      return new Response(`${JSON.stringify({ message })}\n`, {
        status,
        headers: { ...headers, "Content-Type": "application/json" },
      });
    },
    onResponse: log ? (response, event) => log(`${event.req.method} ${event.url.pathname}${event.url.search} -> ${response.status}`) : undefined,
  });

  app.all("/**", (event: H3Event) => {
    for (const [name, value] of Object.entries(headers)) event.res.headers.set(name, value);
    const { version, path } = splitVersion(event.url.pathname);
    const refused = checkVersion(version);
    if (refused) throw refused;
    const resolution = table.resolve(event.req.method, path, version);
    switch (resolution.kind) {
      case "route": {
        const context: RequestContext = { services: options.services, apiVersion: version, params: resolution.params };
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
