import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { inspectContainer, removeContainers } from "../nerdctl/containers.ts";
import { inspectContainerById } from "../nerdctl/events.ts";
import type { Scope } from "./scope.ts";

/**
 * The container a client named, from the namespace's state when it knows it
 * for certain, else from nerdctl (which also says why it is not found).
 */
export async function findContainer(scope: Scope, ref: string): Promise<NerdctlContainerInspect> {
  return (await scope.state.containers.find(ref)) ?? inspectContainer(scope.nerdctl, ref);
}

/** A container by full id, or undefined when it is gone. */
export async function containerIfPresent(scope: Scope, id: string): Promise<NerdctlContainerInspect | undefined> {
  return (await scope.state.containers.find(id)) ?? inspectContainerById(scope.nerdctl, id);
}

/** Runs a change of containers: whatever came of it, the next read sees them as they are. */
export async function changingContainer<T>(scope: Scope, ids: string | readonly string[], change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } finally {
    for (const id of typeof ids === "string" ? [ids] : ids) scope.state.containerChanged(id);
  }
}

/** Removes containers: once nerdctl has, the next read knows them gone without asking; if it failed, it asks. */
export async function removingContainers(scope: Scope, ids: readonly string[], options: Parameters<typeof removeContainers>[2] = {}): Promise<void> {
  await changingContainer(scope, ids, () => removeContainers(scope.nerdctl, [...ids], options));
  scope.state.containersRemoved(ids);
}
