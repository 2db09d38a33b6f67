import type { RunningCommand } from "../runner/types.ts";
import { JSON_FORMAT, type Nerdctl } from "./client.ts";
import type { NerdctlContainerInspect } from "./container-types.ts";

/**
 * containerd's event stream as `nerdctl events --format '{{json .}}'` prints
 * it (nerdctl 2.3): one envelope per line (blank lines between them), the
 * payload itself JSON in a string. nerdctl subscribes to every namespace
 * whatever `--namespace` says, so readers keep only their namespace's lines.
 * Volumes and networks are files to nerdctl, not containerd objects: their
 * changes never appear here.
 */
export interface NerdctlEvent {
  /** RFC 3339 with nanoseconds. */
  Timestamp: string;
  ID: string;
  Namespace: string;
  /** `/containers/create`, `/tasks/exit`, `/images/delete`, `/snapshot/prepare`, … */
  Topic: string;
  Status: string;
  /** The topic's payload, JSON. */
  Event: string;
}

export const EVENTS_ARGS: readonly string[] = ["events", "--format", JSON_FORMAT];

/** The long-lived `nerdctl events` child; its owner kills it (signal or kill()). */
export function spawnEvents(nerdctl: Nerdctl, signal?: AbortSignal): RunningCommand {
  return nerdctl.runner.spawn(nerdctl.command(EVENTS_ARGS), { signal });
}

/** One line of the stream; undefined for blank lines and anything that is not an envelope. */
export function parseEventLine(line: string): NerdctlEvent | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as Partial<NerdctlEvent>;
    if (typeof value.Topic !== "string" || typeof value.Timestamp !== "string") return undefined;
    return {
      Timestamp: value.Timestamp,
      ID: value.ID ?? "",
      Namespace: value.Namespace ?? "",
      Topic: value.Topic,
      Status: value.Status ?? "",
      Event: typeof value.Event === "string" ? value.Event : JSON.stringify(value.Event ?? {}),
    };
  } catch {
    return undefined;
  }
}

/** One container by full id (a container just created); undefined when it is already gone. */
export async function inspectContainerById(nerdctl: Nerdctl, id: string): Promise<NerdctlContainerInspect | undefined> {
  if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
  // Shared: the attach and start of the same docker run ask the same at the same moment.
  const result = await nerdctl.runner.run(nerdctl.command(["container", "inspect", "--", id]), { shared: true });
  if (result.exitCode !== 0) return undefined;
  try {
    return (JSON.parse(result.stdout) as NerdctlContainerInspect[])[0];
  } catch {
    return undefined;
  }
}

/** The image id (config digest) an image record names now; undefined when it is gone or not a name nerdctl reads. */
export async function imageIdOf(nerdctl: Nerdctl, record: string): Promise<string | undefined> {
  if (record === "" || record.startsWith("-") || /[\s\0]/.test(record)) return undefined;
  const result = await nerdctl.runner.run(nerdctl.command(["image", "inspect", "--format", "{{.ID}}", "--", record]));
  const id = result.stdout.trim().split("\n")[0] ?? "";
  return result.exitCode === 0 && /^sha256:[0-9a-f]{64}$/.test(id) ? id : undefined;
}

/**
 * The container whose record (inspect) an engine event changes: a
 * container's own topics, and its task's, but not those of the processes
 * exec'd in it, which its record does not show. Undefined for any other event.
 */
export function containerChangedBy(event: NerdctlEvent): string | undefined {
  if (!event.Topic.startsWith("/containers/") && !event.Topic.startsWith("/tasks/")) return undefined;
  if (event.Topic.startsWith("/tasks/exec-")) return undefined;
  let payload: Record<string, unknown>;
  try {
    payload = (JSON.parse(event.Event) as Record<string, unknown> | null) ?? {};
  } catch {
    return undefined;
  }
  const id = event.Topic.startsWith("/containers/") ? payload.id : payload.container_id;
  if (typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id)) return undefined;
  // A task's exit names its process: the container's own (its id, or none), or an exec'd one.
  if (event.Topic === "/tasks/exit" && typeof payload.id === "string" && payload.id !== "" && payload.id !== id) return undefined;
  return id;
}

/** Whether an engine event changes the namespace's images (a name made, moved or removed). */
export const changesImages = (event: NerdctlEvent): boolean => event.Topic.startsWith("/images/");
