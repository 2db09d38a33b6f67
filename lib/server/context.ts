import type { H3Event } from "h3";
import type { ServiceRoot } from "../service/scope.ts";

/** Per-request values the gateway sets before calling a route handler. */
export interface RequestContext {
  services: ServiceRoot;
  /** The API version the client asked for (or the daemon's). */
  apiVersion: string;
  params: Record<string, string>;
  /** How long a small body may go without a byte before the request is refused (408). */
  bodyIdleMs: number;
}

function requestContext(event: H3Event): RequestContext {
  const context = event.context as Partial<RequestContext>;
  if (!context.services) throw new Error("route handler called outside the nerdctld gateway");
  return context as RequestContext;
}

export function useServiceRoot(event: H3Event): ServiceRoot {
  return requestContext(event).services;
}

/**
 * A request may work in another containerd namespace than the daemon's (e.g.
 * `k8s.io` on a Kubernetes node) by sending this header; the docker CLI sends it
 * from `HttpHeaders` in its config.json.
 */
export const NAMESPACE_HEADER = "X-Containerd-Namespace";

export function useApiVersion(event: H3Event): string {
  return requestContext(event).apiVersion;
}

export const DEFAULT_BODY_IDLE_MS = 60_000;

export function useBodyIdleMs(event: H3Event): number {
  return (event.context as Partial<RequestContext>).bodyIdleMs ?? DEFAULT_BODY_IDLE_MS;
}

/** A path parameter, already resolved (names with slashes included) and decoded. */
export function useParam(event: H3Event, name: string): string {
  const value = requestContext(event).params[name];
  if (value === undefined) throw new Error(`route has no parameter ${name}`);
  return value;
}
