import type { DaemonFacts } from "../docker/system.ts";
import type { Nerdctl } from "../nerdctl/client.ts";
import { assertNamespace } from "../nerdctl/validate.ts";

/** What the daemon gives every service call, whatever the namespace. */
export interface ServiceRoot {
  /** nerdctl in the daemon's own namespace. */
  nerdctl: Nerdctl;
  /** Live facts about the daemon (read at request time: counts change). */
  facts(): DaemonFacts;
}

/** The engine as one request sees it: the services' single argument for "where". */
export interface Scope extends ServiceRoot {
  /** The containerd namespace the request works in; undefined is nerdctl's default. */
  namespace: string | undefined;
}

/**
 * The scope of a request: the daemon's namespace, or another one it names
 * (e.g. `k8s.io` on a Kubernetes node, sent in the X-Containerd-Namespace header).
 */
export function scopeFor(root: ServiceRoot, namespace: string | null | undefined): Scope {
  if (!namespace) return { ...root, namespace: root.nerdctl.options.namespace };
  const checked = assertNamespace(namespace);
  return { ...root, nerdctl: root.nerdctl.withNamespace(checked), namespace: checked };
}
