import type { BuildkitLocator } from "../buildkit/locator.ts";
import type { DaemonFacts } from "../docker/system.ts";
import type { Nerdctl } from "../nerdctl/client.ts";
import { assertNamespace } from "../nerdctl/validate.ts";
import type { AbandonedLeases } from "./abandoned-leases.ts";
import { ContainerStdio } from "./container-stdio.ts";
import { NO_EVENTS, type EventBus, type NamespaceEvents } from "./events/bus.ts";
import type { ExecRegistry } from "./exec-registry.ts";
import type { PushLeftovers } from "./push-leftovers.ts";
import { NamespaceState } from "./state/namespace-state.ts";
import type { StateHub } from "./state/state-hub.ts";
import { StatsSamplers } from "./stats-samplers.ts";
import { HealthChecks } from "./health.ts";

/** What the daemon gives every service call, whatever the namespace. */
export interface ServiceRoot {
  /** nerdctl in the daemon's own namespace. */
  nerdctl: Nerdctl;
  /** Live facts about the daemon (read at request time: counts change). */
  facts(): DaemonFacts;
  /** The daemon's events; an app built without them announces to no one. */
  events?: EventBus;
  /** The daemon's exec instances; an app built without them has no exec endpoints. */
  execs?: ExecRegistry;
  /** The stdio of the containers the daemon started attached; an app built without starts each on its own. */
  stdio?: ContainerStdio;
  /** What the daemon keeps of each namespace; an app built without asks nerdctl for everything. */
  state?: StateHub;
  /** The stats samplers of the containers whose stats are streamed; an app built without shares none. */
  samplers?: StatsSamplers;
  /** Where each namespace's buildkitd is; an app built without serves the classic builder only. */
  buildkit?: BuildkitLocator;
  /** The health checks the daemon runs, held off while it changes a container. */
  health?: HealthChecks;
  /** The leases killed transfers left; an app built without leaves them to containerd's expiry. */
  leases?: AbandonedLeases;
  /** The records killed pushes left; an app built without leaves them listed. */
  pushes?: PushLeftovers;
}

/** The engine as one request sees it: the services' single argument for "where". */
export interface Scope extends Omit<ServiceRoot, "events" | "state" | "samplers"> {
  /** The containerd namespace the request works in; undefined is nerdctl's default. */
  namespace: string | undefined;
  /** The namespace's events: services announce their changes here. */
  events: NamespaceEvents;
  /** The stdio nerdctld holds for the containers it started attached (the daemon's, whatever the request). */
  stdio: ContainerStdio;
  /** What the daemon keeps of the namespace: reads answer from it while it is kept. */
  state: NamespaceState;
  samplers: StatsSamplers;
  /** The daemon's health checks, whatever the request. */
  health: HealthChecks;
}


/**
 * The scope of a request: the daemon's namespace, or another one it names
 * (e.g. `k8s.io` on a Kubernetes node, sent in the X-Containerd-Namespace header).
 */
export function scopeFor(root: ServiceRoot, namespace: string | null | undefined, requestId?: string): Scope {
  const checked = namespace ? assertNamespace(namespace) : undefined;
  const inScope = checked ?? root.nerdctl.options.namespace;
  const inNamespace = checked ? root.nerdctl.withNamespace(checked) : root.nerdctl;
  // Its engine calls log as the request's (the state's and the event sources' are the daemon's own).
  const nerdctl = requestId === undefined ? inNamespace : inNamespace.forRequest(requestId);
  return {
    ...root,
    nerdctl,
    namespace: inScope,
    events: root.events?.in(inScope) ?? NO_EVENTS,
    stdio: root.stdio ?? new ContainerStdio(),
    // Never told the engine's stream runs: it keeps nothing, and every read asks nerdctl.
    state: root.state?.in(inScope) ?? new NamespaceState(nerdctl, { subscribeGraceMs: 0, now: Date.now }),
    samplers: root.samplers ?? new StatsSamplers(),
    health: root.health ?? new HealthChecks(),
  };
}
