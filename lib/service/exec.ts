import {
  assertCanExec,
  assertStillRunning,
  execConfig,
  execInspectDocument,
  startFailure,
  type ConsoleSize,
  type ExecCreateRequest,
  type ExecInspectResponse,
  type ExecStartRequest,
} from "../docker/exec.ts";
import { Filters } from "../docker/filters.ts";
import { noSuch, unavailable } from "../errors.ts";
import type { ClientConnection } from "../io/connection.ts";
import type { EventSubscription } from "./events/bus.ts";
import type { ExecInstance, ExecRegistry } from "./exec-registry.ts";
import { launch, runAttached } from "./exec-session.ts";
import { containerIfPresent, findContainer } from "./container-lookup.ts";
import type { Scope } from "./scope.ts";

/** How long a detached start waits to hear that the process started (or failed) before it answers anyway. */
const DETACHED_START_WAIT_MS = 10_000;

function registryOf(scope: Scope): ExecRegistry {
  if (!scope.execs) throw unavailable("this nerdctld app keeps no exec instances");
  return scope.execs;
}

/** POST /containers/{id}/exec: an instance in a running container, not started yet. */
export async function execCreate(scope: Scope, ref: string, request: ExecCreateRequest): Promise<{ Id: string }> {
  const container = await findContainer(scope, ref);
  assertCanExec(container, ref);
  const instance = registryOf(scope).add(scope.namespace, container.Id, execConfig(request, container));
  return { Id: instance.id };
}

/** GET /exec/{id}/json. An instance whose container is gone is forgotten, as dockerd's are. */
export async function execInspect(scope: Scope, id: string): Promise<ExecInspectResponse> {
  const execs = registryOf(scope);
  const instance = execs.get(id, scope.namespace);
  if (!instance) throw noSuch("exec", id);
  if (!(await containerIfPresent(scope, instance.containerId))) {
    execs.forget(instance);
    throw noSuch("exec", id);
  }
  return execInspectDocument(instance.state());
}

/**
 * The instance, with dockerd's checks of its container before a start or a
 * resize: still there (dockerd names the missing one by the exec's id), and running.
 */
async function checkedInstance(scope: Scope, id: string): Promise<ExecInstance> {
  const execs = registryOf(scope);
  const instance = execs.get(id, scope.namespace);
  if (!instance) throw noSuch("exec", id);
  const container = await containerIfPresent(scope, instance.containerId);
  if (!container) {
    execs.forget(instance);
    throw noSuch("container", id);
  }
  assertStillRunning(container);
  return instance;
}

/**
 * POST /exec/{id}/start. Detached, the process is started in the background
 * and nothing is returned; otherwise what runs the process over the client's
 * connection, once the route has taken it over.
 */
export async function execStart(scope: Scope, id: string, request: ExecStartRequest): Promise<((connection: ClientConnection) => Promise<void>) | undefined> {
  const instance = await checkedInstance(scope, id);
  const execs = registryOf(scope);
  if (request.detach) {
    await startDetached(scope, execs, instance);
    return undefined;
  }
  return (connection) => runAttached(instance, () => launch(scope, execs, instance, request.consoleSize, true), request.tty, connection);
}

/**
 * Starts the process with nobody attached (its output is read and dropped).
 * dockerd answers once the process has started, or with why it could not
 * be: this waits for the engine's exec_start in the container, or the end
 * of the start.
 */
async function startDetached(scope: Scope, execs: ExecRegistry, instance: ExecInstance): Promise<void> {
  const watch = watchExecStarts(scope, instance.containerId);
  try {
    const { streams, outcome } = launch(scope, execs, instance, undefined, false);
    for (const source of streams) source.readable.resume();
    const first = await Promise.race([outcome, watch.started]);
    if (first?.kind === "not-started") throw startFailure(first.message, instance.config.requestedUser);
  } finally {
    watch.close();
  }
}

/** Settles at the next exec_start the engine reports in the container; at once when there are no events to read, and after a while at the latest. */
function watchExecStarts(scope: Scope, containerId: string): { started: Promise<void>; close(): void } {
  let subscription: EventSubscription;
  try {
    const filters = Filters.parse(JSON.stringify({ container: [containerId], event: ["exec_start"] }), ["container", "event"]);
    subscription = scope.events.subscribe({ filters });
  } catch {
    return { started: Promise.resolve(), close: () => {} };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, DETACHED_START_WAIT_MS)));
  // An event stream that fails says nothing either way: the start is answered as if it had been seen.
  const seen = (async () => {
    for await (const event of subscription) return void event;
  })().catch(() => {});
  return {
    started: Promise.race([seen, timeout]),
    close: () => {
      clearTimeout(timer);
      subscription.close();
    },
  };
}

/** POST /exec/{id}/resize: the process's terminal; nothing for a process without one, as with dockerd. */
export async function execResize(scope: Scope, id: string, size: ConsoleSize): Promise<void> {
  // A process still running says its container is: the check is left out for it, so a new terminal's size arrives quickly.
  const known = registryOf(scope).get(id, scope.namespace);
  const instance = known?.running ? known : await checkedInstance(scope, id);
  await instance.resize(size);
}
