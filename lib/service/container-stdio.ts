import { notRunning, startRefused } from "../docker/container-lifecycle.ts";
import { recordedTerminal } from "../docker/container-create-record.ts";
import { stateName, toContainerInspect } from "../docker/containers.ts";
import { parseLogsQuery } from "../docker/logs.ts";
import { outputContentType } from "../docker/stdcopy.ts";
import { Filters } from "../docker/filters.ts";
import { notModified, systemError } from "../errors.ts";
import type { ClientConnection } from "../io/connection.ts";
import { deleteStoppedTask, reattach, startAttached, startContainer, startFailureMessage, startWithInput } from "../nerdctl/container-lifecycle.ts";
import { HOLDER_LABEL, inspectContainer, recordExit, recordHolder } from "../nerdctl/containers.ts";
import { identityAlive, ownIdentity } from "../host/process-identity.ts";
import { changingContainer, findContainer, removingContainers } from "./container-lookup.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { hasTerminal } from "../nerdctl/logs.ts";
import { removeAfterExit } from "./auto-remove.ts";
import { watchHealth } from "./health.ts";
import { baselineOf } from "./container-exit.ts";
import { Attachment, HeldContainer, type AttachOptions } from "./held-container.ts";
import { containerLogSink } from "./container-log-file.ts";
import { containerLogs } from "./logs.ts";
import type { Scope } from "./scope.ts";

/*
 * Start and attach: nerdctl can attach a client only to a container whose
 * stdio some nerdctl process held from its start, and one client at a time.
 * So nerdctld holds it itself: a container started while clients wait to
 * attach (docker run, docker start -a), or one that keeps its stdin open
 * (docker run -di), is started attached, and every client reads and types
 * through that one child. Other containers are started detached, their output
 * going only to their log; attaching to one of those follows its log.
 */

/** A terminal's size until the client sends its own. */
const DEFAULT_TERMINAL = { columns: 80, rows: 24 };

/** The daemon's held containers and waiting clients, across requests. */
export class ContainerStdio {
  readonly held = new Map<string, HeldContainer>();
  readonly waiting = new Map<string, Set<Attachment>>();
  /** This daemon, as the holder label names it. */
  readonly identity = ownIdentity();
}

const keyOf = (scope: Scope, id: string) => `${scope.namespace ?? ""}/${id}`;

interface StdioConfig {
  tty: boolean;
  /** The terminal's size the client gave at create ([height, width]), until it sends another. */
  consoleSize: { columns: number; rows: number };
  openStdin: boolean;
  stdinOnce: boolean;
  autoRemove: boolean;
}

/** Whether the container has a terminal: its create record says, else the engine's spec (one more call). */
async function hasTerminalOf(scope: Scope, container: NerdctlContainerInspect): Promise<boolean> {
  return recordedTerminal(container.Config?.Labels) ?? (await hasTerminal(scope.nerdctl, container.Id));
}

async function stdioConfig(scope: Scope, container: NerdctlContainerInspect): Promise<StdioConfig> {
  // What the client asked for at create, as inspect shows it; the terminal as the engine will make it.
  const { Config, HostConfig } = toContainerInspect(container, undefined);
  const [rows, columns] = (HostConfig.ConsoleSize as number[] | null | undefined) ?? [];
  return {
    tty: await hasTerminalOf(scope, container),
    consoleSize: rows && columns ? { columns, rows } : DEFAULT_TERMINAL,
    openStdin: Config.OpenStdin === true,
    stdinOnce: Config.StdinOnce === true,
    autoRemove: HostConfig.AutoRemove === true,
  };
}

/** POST /containers/{id}/start: 304 when it runs already. */
export async function containerStart(scope: Scope, ref: string): Promise<void> {
  const container = await findContainer(scope, ref);
  const state = stateName(container);
  if (state === "running" || state === "paused" || state === "restarting") throw notModified(`Container ${container.Id} is already running`);
  const config = await stdioConfig(scope, container);
  const key = keyOf(scope, container.Id);
  const waiting = scope.stdio.waiting.get(key);
  // Watching for the exit begins before the start: `docker run --rm busybox true` may end before the start is confirmed.
  const removal = config.autoRemove ? new AbortController() : undefined;
  if (removal) removeAfterExit(scope, baselineOf(container), removal.signal);
  try {
    await changingContainer(scope, container.Id, async () => {
      if ((waiting && waiting.size > 0) || config.openStdin) {
        scope.stdio.waiting.delete(key);
        await startHeld(scope, container, config, [...(waiting ?? [])]);
      } else {
        const refused = await startContainer(scope.nerdctl, container.Id);
        if (refused !== undefined) throw startRefused(refused);
      }
    });
  } catch (error) {
    removal?.abort();
    // As dockerd does: a --rm container that cannot start is removed (docker run waits for that).
    if (config.autoRemove) {
      await removingContainers(scope, [container.Id], { force: true, volumes: true }).catch(() => {});
    }
    throw error;
  }
  watchHealth(scope, container);
}

async function startHeld(scope: Scope, container: NerdctlContainerInspect, config: StdioConfig, waiting: Attachment[]): Promise<void> {
  const key = keyOf(scope, container.Id);
  const startedAfter = Date.now();
  const started = new AbortController();
  const startEvent = watchStart(scope, container.Id, started.signal);
  const child = await attachedChild(scope, container.Id, config);
  const held = new HeldContainer(child, config.stdinOnce);
  if (taskless(config)) keepLog(container, held);
  if (taskless(config)) {
    held.beforeEnd = (exit) =>
      changingContainer(scope, container.Id, () =>
        recordExit(scope.nerdctl, container.Id, { exitCode: exit.exitCode, startedAt: new Date(startedAfter), finishedAt: new Date() }),
      );
  }
  for (const attachment of waiting) held.join(attachment);
  keepHeld(scope, container.Id, held);
  const first = await Promise.race([startEvent.then(() => "started" as const), held.exited.then(() => "exited" as const)]);
  started.abort();
  const ran = first === "started" || (await ranSince(scope, container.Id, startedAfter));
  held.settle(ran);
  if (!ran) throw startFailure(held.nerdctlOutput);
  void recordHeld(scope, container.Id);
}

/** The container's log is nerdctld's to write: nothing else reads its output. */
function keepLog(container: NerdctlContainerInspect, held: HeldContainer): void {
  const sink = containerLogSink(container);
  if (sink) held.keepOutput(sink);
}

function keepHeld(scope: Scope, id: string, held: HeldContainer): void {
  const key = keyOf(scope, id);
  scope.stdio.held.set(key, held);
  void held.exited.then(() => {
    if (scope.stdio.held.get(key) === held) scope.stdio.held.delete(key);
  });
}

/** Names this daemon as the holder, for the next one should this one go while the container runs (a failure only costs that). */
async function recordHeld(scope: Scope, id: string): Promise<void> {
  await changingContainer(scope, id, () => scope.health.holding(scope.namespace, id, () => recordHolder(scope.nerdctl, id, scope.stdio.identity))).catch(() => {});
}

/**
 * At daemon start: a running container a daemon that is gone had started
 * attached is taken over again, so that its output is read (a full pipe would
 * stall it) and clients can attach to it. What it printed while nobody held
 * it waits in its pipe; nerdctl's copy to its log ends with the old holder.
 */
export async function retakeHeld(scope: Scope, container: NerdctlContainerInspect): Promise<boolean> {
  const holder = container.Config?.Labels?.[HOLDER_LABEL];
  if (!holder || holder === scope.stdio.identity || identityAlive(holder) || stateName(container) !== "running") return false;
  if (scope.stdio.held.has(keyOf(scope, container.Id))) return false;
  const config = await stdioConfig(scope, container);
  const child = reattach(scope.nerdctl, container.Id, { tty: config.tty ? config.consoleSize : undefined, stdin: config.openStdin, byContainerd: taskless(config) });
  const held = new HeldContainer(child, config.stdinOnce);
  keepLog(container, held);
  keepHeld(scope, container.Id, held);
  held.settle(true);
  await recordHeld(scope, container.Id);
  return true;
}

/** Whether the container is started by containerd's client, which leaves no task behind when it ends. */
const taskless = (config: StdioConfig) => !config.tty && config.openStdin;

/**
 * The child that starts the container and holds its stdio: nerdctl, which
 * keeps the container's log too, unless the container takes input without a
 * terminal, which nerdctl cannot give it.
 */
async function attachedChild(scope: Scope, id: string, config: StdioConfig) {
  if (!taskless(config)) {
    return startAttached(scope.nerdctl, id, { tty: config.tty ? config.consoleSize : undefined, stdin: config.openStdin });
  }
  await deleteStoppedTask(scope.nerdctl, id);
  return startWithInput(scope.nerdctl, id);
}

/** Resolves when the engine reports the container's task started. */
function watchStart(scope: Scope, id: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    try {
      const subscription = scope.events.subscribe({ filters: Filters.none.with("type", "container").with("container", id).with("event", "start") });
      signal.addEventListener("abort", () => subscription.close(), { once: true });
      void (async () => {
        for await (const event of subscription) {
          void event;
          return resolve();
        }
      })().catch(() => {});
    } catch {
      // No events: the child's exit and the record tell instead.
    }
  });
}

/** Whether the container's record shows a start after `since` (a container that ran and ended before its start event was read). */
async function ranSince(scope: Scope, id: string, since: number): Promise<boolean> {
  const container = await inspectContainer(scope.nerdctl, id).catch(() => undefined);
  const startedAt = Date.parse(container?.State?.StartedAt ?? "");
  return Number.isFinite(startedAt) && startedAt >= since - 1_000;
}

/** The starter's own words for a failed start, else all it printed. */
function startFailure(output: string): Error {
  return startRefused(startFailureMessage(output) || output.trim() || "the container did not start");
}


export interface AttachRequest extends AttachOptions {
  stream: boolean;
  logs: boolean;
}

/** A checked attach, ready to take over the client's connection. */
export interface PreparedAttach {
  contentType: string;
  run(connection: ClientConnection): Promise<void>;
}

/**
 * POST /containers/{id}/attach: checks the container, then serves the client
 * from the held stdio, from the start that is coming, or from the log.
 */
export async function containerAttach(scope: Scope, ref: string, request: AttachRequest, since142: boolean): Promise<PreparedAttach> {
  const container = await findContainer(scope, ref);
  const tty = await hasTerminalOf(scope, container);
  const key = keyOf(scope, container.Id);
  return {
    contentType: outputContentType(!tty, since142),
    async run(connection) {
      scope.events.emit({ type: "container", action: "attach", container: container.Id });
      const attachment = new Attachment(connection, request, !tty);
      if (request.logs && !request.stream) return replayLog(scope, container, request, attachment, false);
      const held = scope.stdio.held.get(key);
      if (held && request.stream) {
        held.join(attachment);
        return attachment.done;
      }
      if (stateName(container) === "running" || stateName(container) === "paused") return replayLog(scope, container, request, attachment, true);
      if (!request.stream) return attachment.end();
      // Not running: this client waits for the start (docker run attaches before it starts).
      const waiting = scope.stdio.waiting.get(key) ?? new Set<Attachment>();
      scope.stdio.waiting.set(key, waiting.add(attachment));
      void attachment.done.then(() => waiting.delete(attachment));
      return attachment.done;
    },
  };
}

/** The container's log, from its start (`logs`) or from now, followed while it runs when `follow`. */
async function replayLog(scope: Scope, container: NerdctlContainerInspect, request: AttachRequest, attachment: Attachment, follow: boolean): Promise<void> {
  if (!request.stdout && !request.stderr) return attachment.end();
  // RFC 3339: a fraction of a Unix time would be read as nanoseconds.
  const since = request.logs ? undefined : new Date().toISOString();
  const query = parseLogsQuery({ stdout: request.stdout, stderr: request.stderr, follow, timestamps: false, since, until: undefined, tail: undefined });
  const logs = await containerLogs(scope, container.Id, query, attachment.connection.gone);
  logs.stream.pipe(attachment.connection.output);
  await new Promise<void>((resolve) => logs.stream.once("close", resolve).once("end", resolve));
  attachment.end();
}

/** POST /containers/{id}/resize: the held terminal's new size. */
export async function containerResize(scope: Scope, ref: string, size: { height: number; width: number }): Promise<void> {
  const container = await findContainer(scope, ref);
  if (stateName(container) !== "running") throw notRunning(container.Id);
  scope.stdio.held.get(keyOf(scope, container.Id))?.resize(size.width, size.height);
  scope.events.emit({ type: "container", action: "resize", container: container.Id, height: size.height, width: size.width });
}
