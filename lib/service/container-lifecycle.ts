import { cannotKill, cannotRemove, nameInUse, notRunning, type WaitCondition } from "../docker/container-lifecycle.ts";
import { containerName, stateName } from "../docker/containers.ts";
import type { ContainerWaitResponse } from "../docker/container-types.ts";
import { conflict, isKind, notModified } from "../errors.ts";
import {
  killContainer,
  pauseContainer,
  renameContainer,
  restartContainer,
  stopContainer,
  unpauseContainer,
  updateContainer,
  type StopOptions,
  type UpdateOptions,
} from "../nerdctl/container-lifecycle.ts";
import { baselineOf, watchEnd } from "./container-exit.ts";
import { changingContainer, findContainer, removingContainers } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

/*
 * The lifecycle calls that need no stream: each reads the container's state
 * first, for dockerd's answers to a call the state makes pointless (304) or
 * forbids (409), then makes one engine call. Start and attach, which hold the
 * container's stdio, are in container-stdio.ts.
 */

async function current(scope: Scope, ref: string) {
  const container = await findContainer(scope, ref);
  return { container, id: container.Id, name: containerName(container), state: stateName(container) };
}

/** A change the container's health checks must not overlap: nerdctl writes a check's result back with every label it read. */
function changingHeld(scope: Scope, id: string, change: () => Promise<void>): Promise<void> {
  return changingContainer(scope, id, () => scope.health.holding(scope.namespace, id, change));
}

/** POST /containers/{id}/stop: 304 when it is not running. */
export async function containerStop(scope: Scope, ref: string, options: StopOptions): Promise<void> {
  const { id, state } = await current(scope, ref);
  if (state !== "running" && state !== "paused" && state !== "restarting") throw notModified(`Container ${id} is not running`);
  await changingHeld(scope, id, () => stopContainer(scope.nerdctl, id, options));
  scope.events.emit({ type: "container", action: "stop", container: id });
}

/** POST /containers/{id}/restart: stops it if running, then starts it. */
export async function containerRestart(scope: Scope, ref: string, options: StopOptions): Promise<void> {
  const { id } = await current(scope, ref);
  await changingHeld(scope, id, () => restartContainer(scope.nerdctl, id, options));
  scope.events.emit({ type: "container", action: "restart", container: id });
}

/** POST /containers/{id}/kill: 409 when there is nothing to signal. */
export async function containerKill(scope: Scope, ref: string, signal: string): Promise<void> {
  const { id, state } = await current(scope, ref);
  if (state !== "running" && state !== "paused" && state !== "restarting") throw cannotKill(ref, id);
  await changingHeld(scope, id, () => killContainer(scope.nerdctl, id, signal));
  scope.events.emit({ type: "container", action: "kill", container: id, signal });
}

export async function containerPause(scope: Scope, ref: string): Promise<void> {
  const { id, state } = await current(scope, ref);
  if (state === "paused") throw conflict(`Container ${id} is already paused`);
  if (state !== "running") throw notRunning(id);
  await changingContainer(scope, id, () => pauseContainer(scope.nerdctl, id));
}

export async function containerUnpause(scope: Scope, ref: string): Promise<void> {
  const { id, state } = await current(scope, ref);
  if (state !== "paused") throw conflict(`Container ${id} is not paused`);
  await changingContainer(scope, id, () => unpauseContainer(scope.nerdctl, id));
}

/** POST /containers/{id}/rename: 409 in dockerd's words when another container has the name. */
export async function containerRename(scope: Scope, ref: string, name: string): Promise<void> {
  const { id, name: oldName } = await current(scope, ref);
  if (oldName === name) throw conflict(`Renaming a container with the same name as its current name`);
  const holder = await findContainer(scope, name).catch((error: unknown) => {
    if (isKind(error, "not-found")) return undefined;
    throw error;
  });
  if (holder && holder.Id !== id) throw nameInUse(name, holder.Id);
  await changingHeld(scope, id, () => renameContainer(scope.nerdctl, id, name));
  scope.events.emit({ type: "container", action: "rename", container: id, name, oldName });
}

/** POST /containers/{id}/update: the resources and restart policy nerdctl can change. */
export async function containerUpdate(scope: Scope, ref: string, options: UpdateOptions): Promise<{ Warnings: string[] }> {
  const { id } = await current(scope, ref);
  if (Object.keys(options).length > 0) await changingHeld(scope, id, () => updateContainer(scope.nerdctl, id, options));
  scope.events.emit({ type: "container", action: "update", container: id });
  return { Warnings: [] };
}

/** DELETE /containers/{id}: a running or paused container only with `force`. */
export async function containerRemove(scope: Scope, ref: string, options: { force: boolean; volumes: boolean }): Promise<void> {
  const { id, state } = await current(scope, ref);
  if (!options.force && (state === "running" || state === "paused" || state === "restarting")) throw cannotRemove(state, id);
  await removingContainers(scope, [id], options);
}

/**
 * POST /containers/{id}/wait, in two steps: the first checks the container and
 * starts listening (the client is answered 200 then, and only then starts the
 * container: docker run depends on it); the second settles at the condition.
 */
export async function containerWait(
  scope: Scope,
  ref: string,
  condition: WaitCondition,
  signal: AbortSignal,
): Promise<{ result: Promise<ContainerWaitResponse> }> {
  const { container, state } = await current(scope, ref);
  const baseline = baselineOf(container);
  if (condition === "not-running" && state !== "running" && state !== "paused" && state !== "restarting") {
    return { result: Promise.resolve({ StatusCode: container.State?.ExitCode ?? 0 }) };
  }
  const end = watchEnd(scope, baseline, condition === "removed" ? "removed" : "exit", signal);
  return {
    // Removed: the code of the exit that came before, else the one the record had.
    result: end.then(
      (ended) => ({ StatusCode: ended.exitCode ?? container.State?.ExitCode ?? 0 }),
      // The status is sent already: a failure can only be told in the document.
      (error: unknown) => ({ StatusCode: -1, Error: { Message: (error as Error).message } }),
    ),
  };
}
