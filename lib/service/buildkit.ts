/**
 * BuildKit's own API, as dockerd serves it to buildx (`docker build` with
 * BuildKit): the Control API (/grpc) and a build's session (/session), both
 * relayed to the buildkitd that builds into the request's namespace. Where
 * there is none, /_ping announces the classic builder and these refuse.
 */
import type { Duplex } from "node:stream";
import { relayControl } from "../buildkit/control-relay.ts";
import type { BuildkitTarget } from "../buildkit/locator.ts";
import { sessionMetadata, tunnelSession } from "../buildkit/session-tunnel.ts";
import { unavailable } from "../errors.ts";
import type { Scope } from "./scope.ts";

/** What `Builder-Version` in /_ping says: 2 (BuildKit) or 1 (the classic builder). */
export type BuilderVersion = "1" | "2";

/** The X-Docker-Expose-Session-* headers a session is opened with. */
export const SESSION_HEADER_PREFIX = "X-Docker-Expose-Session-";

/** Runs over the client's connection once it is taken over; settles when both sides are closed. */
export type Relay = (socket: Duplex) => Promise<void>;

/** How long /_ping's Builder-Version may be behind a buildkitd that came or went. */
const BUILDER_VERSION_MAX_AGE_MS = 1_000;

function target(scope: Scope, maxAgeMs = 0): Promise<BuildkitTarget> {
  if (!scope.buildkit) return Promise.resolve({ unavailable: "no buildkitd is configured" });
  const namespace = scope.namespace ?? "default";
  return maxAgeMs > 0 ? scope.buildkit.findRecent(namespace, maxAgeMs) : scope.buildkit.find(namespace);
}

async function reachable(scope: Scope): Promise<Extract<BuildkitTarget, { socket: string }>> {
  const found = await target(scope);
  if ("unavailable" in found) throw unavailable(`BuildKit is not available in namespace ${scope.namespace ?? "default"}: ${found.unavailable}; build with DOCKER_BUILDKIT=0`);
  return found;
}

/** GET /_ping's Builder-Version: BuildKit only when a buildkitd builds into the request's namespace. */
export async function builderVersion(scope: Scope): Promise<BuilderVersion> {
  return "unavailable" in (await target(scope, BUILDER_VERSION_MAX_AGE_MS)) ? "1" : "2";
}

/** POST /grpc: the Control API, relayed to buildkitd. */
export async function buildkitControl(scope: Scope): Promise<Relay> {
  const { dial } = await reachable(scope);
  return (socket) => relayControl(socket, dial);
}

/** POST /session: the build's session, handed to buildkitd as a Control.Session stream. */
export async function buildSession(scope: Scope, headers: Record<string, string[]>): Promise<Relay> {
  const { dial } = await reachable(scope);
  const metadata = sessionMetadata(headers);
  return (socket) => tunnelSession(socket, dial, metadata);
}
