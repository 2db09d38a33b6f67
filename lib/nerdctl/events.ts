import type { DockerImage } from "../docker/images.ts";
import type { Command, RunningCommand } from "../runner/types.ts";
import { JSON_FORMAT, type Nerdctl } from "./client.ts";
import type { NerdctlContainerInspect } from "./container-types.ts";
import { allContainers } from "./containers.ts";
import { dockerImages } from "./images.ts";
import { inspectNetworksNative } from "./networks.ts";

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

/** The event's payload, or an empty object when it cannot be read. */
export function eventPayload(event: NerdctlEvent): Record<string, unknown> {
  try {
    const value = JSON.parse(event.Event) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** What an event source knows when it starts: three calls, whatever the numbers of objects. */
export interface EventSnapshot {
  containers: NerdctlContainerInspect[];
  images: DockerImage[];
}

/**
 * Containers and images as they are when a source starts; a part that fails
 * is empty. One call after the other: the stream's events wait for it anyway.
 * (Networks are looked up only when the daemon removes one: see networkIdentities.)
 */
export async function eventSnapshot(nerdctl: Nerdctl): Promise<EventSnapshot> {
  const containers = await allContainers(nerdctl).catch(() => []);
  const images = await dockerImages(nerdctl).catch(() => []);
  return { containers, images };
}

/** Networks by name with their ids and drivers (one call); none when nerdctl cannot say. */
export async function networkIdentities(nerdctl: Nerdctl, refs: string[]): Promise<Map<string, { id: string; type: string }>> {
  const found = new Map<string, { id: string; type: string }>();
  const networks = await inspectNetworksNative(nerdctl, refs).catch(() => []);
  for (const network of networks) {
    found.set(network.CNI.name, { id: network.NerdctlID ?? network.CNI.name, type: network.CNI.plugins[0]?.type ?? "bridge" });
  }
  return found;
}

/** One container by full id (a container just created); undefined when it is already gone. */
export async function inspectContainerById(nerdctl: Nerdctl, id: string): Promise<NerdctlContainerInspect | undefined> {
  if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
  const result = await nerdctl.runner.run(nerdctl.command(["container", "inspect", "--", id]));
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
 * A nerdctl command the daemon ran, as far as events care: its namespace
 * (from `--namespace`, else undefined), verb words and the positionals after `--`.
 */
export interface ObservedCommand {
  namespace?: string;
  /** Words before the first flag: ["volume", "create"], ["stop"], … */
  verb: string[];
  /** Flags and their values, as given (before `--`). */
  flags: string[];
  /** What follows `--`. */
  positionals: string[];
}

const VERB_WORD = /^[a-z][a-z-]*$/;

/** Reads an argv the daemon built (lib/nerdctl puts every name after `--`). */
export function observeCommand(command: Command): ObservedCommand | undefined {
  if (command.program !== "nerdctl") return undefined;
  let args = [...command.args];
  let namespace: string | undefined;
  if (args[0] === "--namespace" && args[1] !== undefined) {
    namespace = args[1];
    args = args.slice(2);
  }
  const verb: string[] = [];
  while (args.length > 0 && VERB_WORD.test(args[0]!) && verb.length < 2) verb.push(args.shift()!);
  const dashes = args.indexOf("--");
  return {
    namespace,
    verb,
    flags: dashes < 0 ? args : args.slice(0, dashes),
    positionals: dashes < 0 ? [] : args.slice(dashes + 1),
  };
}

/** A flag's value, given as `--name=value`, `--name value` or `-x value`. */
export function flagValue(flags: readonly string[], ...names: string[]): string | undefined {
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    for (const name of names) {
      if (flag === name) return flags[i + 1];
      if (flag.startsWith(`${name}=`)) return flag.slice(name.length + 1);
    }
  }
  return undefined;
}
