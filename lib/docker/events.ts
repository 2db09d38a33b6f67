import { constants } from "node:os";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { eventPayload, flagValue, type EventSnapshot, type NerdctlEvent, type ObservedCommand } from "../nerdctl/events.ts";
import { userLabels } from "./containers.ts";
import { badParameter } from "../errors.ts";
import { Filters, parseFilterTime } from "./filters.ts";
import { recordReference } from "./images.ts";
import { familiarize, familiarName, familiarString, parseNormalizedNamed, tagNameOnly } from "../reference.ts";

/*
 * Docker's events (API 1.43 `events.Message`) from containerd's.
 *
 * containerd topic             Docker event
 * /containers/create           container create
 * /containers/update           container rename (when nerdctl's name label changed); nothing otherwise
 * /containers/delete           container destroy
 * /tasks/start                 container start
 * /tasks/exit                  container die (exitCode), or exec_die (execID, exitCode) for an exec process
 * /tasks/paused, /tasks/resumed  container pause, unpause
 * /tasks/oom                   container oom
 * /tasks/exec-added, -started  container exec_create, exec_start (without dockerd's ": <command>" suffix)
 * /tasks/checkpointed          container checkpoint
 * /images/create, /update      image tag; pull / load / import while the daemon runs that command
 * /images/delete               image untag, then delete when no name of the image is left
 * (no topic)                   volume create/destroy, network create/destroy, container kill/stop/restart:
 *                              from the daemon's own successful nerdctl commands (eventsFromCommand)
 */

export type EventType = "container" | "image" | "volume" | "network" | "daemon" | "plugin" | "node" | "service" | "secret" | "config";

export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

export interface DockerEvent {
  /** Legacy fields, set for containers and images only (as dockerd sets them). */
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope: "local";
  time: number;
  /** Nanoseconds since the epoch: beyond a double's precision, so a bigint. */
  timeNano: bigint;
}

export function makeEvent(type: EventType, action: string, actor: EventActor, timeNano: bigint): DockerEvent {
  const legacy: Partial<DockerEvent> = {};
  if (type === "container" || type === "image") {
    legacy.status = action;
    legacy.id = actor.ID;
    if (type === "container" && actor.Attributes.image) legacy.from = actor.Attributes.image;
  }
  return { ...legacy, Type: type, Action: action, Actor: actor, scope: "local", time: Number(timeNano / 1_000_000_000n), timeNano };
}

/** One line of GET /events, as Go's encoder writes a Message: its field order, sorted attributes, exact timeNano. */
export function encodeEvent(event: DockerEvent): string {
  const attributes = Object.fromEntries(Object.entries(event.Actor.Attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const head = JSON.stringify({
    ...(event.status ? { status: event.status } : {}),
    ...(event.id ? { id: event.id } : {}),
    ...(event.from ? { from: event.from } : {}),
    Type: event.Type,
    Action: event.Action,
    Actor: { ID: event.Actor.ID, Attributes: attributes },
    scope: event.scope,
    time: event.time,
  });
  return `${head.slice(0, -1)},"timeNano":${event.timeNano}}\n`;
}

// ---------------------------------------------------------------------------------------------
// Time

/** An RFC 3339 time with up to nine fraction digits, in nanoseconds since the epoch. */
export function timestampNano(value: string): bigint | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? "").padEnd(9, "0"));
}

export function nowNano(ms: number = Date.now()): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/**
 * `since`/`until` of GET /events: Unix seconds with an optional fraction, as
 * the docker CLI sends them (timetypes.ParseTimestamps); beyond dockerd, also a
 * date or a Go duration, read like the other time filters. "" is unset.
 */
export function parseEventTime(value: unknown, name: "since" | "until", now: number = Date.now()): bigint | undefined {
  if (Array.isArray(value)) value = value.at(-1);
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw badParameter(`invalid ${name}`);
  const numeric = /^(-?\d{1,12})(?:\.(\d{1,9}))?$/.exec(value);
  if (numeric) return BigInt(numeric[1]!) * 1_000_000_000n + BigInt((numeric[2] ?? "").padEnd(9, "0"));
  try {
    return nowNano(parseFilterTime(value, now));
  } catch {
    throw badParameter(`invalid ${name}: ${JSON.stringify(value.slice(0, 40))}: want Unix seconds`);
  }
}

export interface EventQuery {
  since?: bigint;
  until?: bigint;
  filters: Filters;
}

/** The query of GET /events, checked as dockerd checks it. */
export function parseEventQuery(query: Record<string, unknown>, now: number = Date.now()): EventQuery {
  const since = parseEventTime(query.since, "since", now);
  const until = parseEventTime(query.until, "until", now);
  if (until !== undefined && since !== undefined && until < since) {
    throw badParameter(`\`since\` time (${String(query.since)}) cannot be after \`until\` time (${String(query.until)})`);
  }
  return { since, until, filters: parseEventFilters(query.filters) };
}

// ---------------------------------------------------------------------------------------------
// Filters (daemon/events/filter.go)

/** The keys dockerd's event filter reads; like dockerd, other keys are accepted and mean nothing. */
export const EVENT_FILTERS = ["config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret", "service", "type", "volume"] as const;

export function parseEventFilters(raw: unknown): Filters {
  let keys: string[] = [...EVENT_FILTERS];
  const text = Array.isArray(raw) ? raw.at(-1) : raw;
  if (typeof text === "string") {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) keys = [...keys, ...Object.keys(parsed)];
    } catch {
      // Filters.parse reports it
    }
  }
  return Filters.parse(raw, keys);
}

/** dockerd's FuzzyMatch: no values, an equal one, or one the source starts with. */
function fuzzyMatch(filters: Filters, key: string, source: string): boolean {
  const values = filters.values(key);
  return values.length === 0 || values.some((value) => source === value || source.startsWith(value));
}

function fuzzyMatchName(filters: Filters, event: DockerEvent, type: EventType): boolean {
  return fuzzyMatch(filters, type, event.Actor.ID) || fuzzyMatch(filters, type, event.Actor.Attributes.name ?? "");
}

function stripTag(image: string): string {
  try {
    return familiarName(parseNormalizedNamed(image));
  } catch {
    return image;
  }
}

function matchImage(filters: Filters, event: DockerEvent): boolean {
  if (!filters.has("image")) return true;
  const id = event.Actor.ID;
  const name = event.Actor.Attributes[event.Type === "image" ? "name" : "image"] ?? "";
  return [id, name, stripTag(id), stripTag(name)].some((source) => filters.values("image").includes(source));
}

function matchAction(filters: Filters, action: string): boolean {
  // dockerd matches these by prefix, its actions being "exec_create: <command>" and "health_status: healthy".
  const fuzzy = filters.values("event").some((value) => ["health_status", "exec_create", "exec_start"].includes(value));
  return fuzzy ? fuzzyMatch(filters, "event", action) : filters.exactMatch("event", action);
}

/** Whether a subscriber with these filters gets the event (Filter.Include). */
export function eventMatches(filters: Filters, event: DockerEvent): boolean {
  return (
    matchAction(filters, event.Action) &&
    filters.exactMatch("type", event.Type) &&
    (!filters.contains("scope") || filters.exactMatch("scope", event.scope)) &&
    (["daemon", "container", "plugin", "volume", "network", "node", "service", "secret", "config"] as const).every((type) =>
      fuzzyMatchName(filters, event, type),
    ) &&
    matchImage(filters, event) &&
    (!filters.contains("label") || filters.matchLabels(event.Actor.Attributes))
  );
}

// ---------------------------------------------------------------------------------------------
// Translation

/** What container events say about their container. */
export interface ContainerIdentity {
  id: string;
  name: string;
  /** As the user named it (`busybox:latest`). */
  image: string;
  /** The user's labels (nerdctl's own left out). */
  labels: Record<string, string>;
}

export function containerIdentity(container: NerdctlContainerInspect): ContainerIdentity {
  return {
    id: container.Id,
    name: container.Name,
    image: familiarize(container.Config.Image || container.Image),
    labels: userLabels(container.Config.Labels),
  };
}

function containerActor(container: ContainerIdentity, extra: Record<string, string> = {}): EventActor {
  const attributes: Record<string, string> = { ...container.labels, ...extra };
  if (container.image) attributes.image = container.image;
  attributes.name = container.name;
  return { ID: container.id, Attributes: attributes };
}

/** Lookups a translator makes when what it knows is not enough (one nerdctl call each). */
export interface EventLookups {
  container(id: string): Promise<NerdctlContainerInspect | undefined>;
  imageId(record: string): Promise<string | undefined>;
}

/** A command of the daemon's that makes images (pull, load, import): what it makes is reported as that. */
export interface ImageOperation {
  kind: "pull" | "load" | "import";
  /** pull: the full reference pulled. */
  reference?: string;
  /** Image ids already reported for this operation (load reports an image once, whatever its names). */
  reported: Set<string>;
}

const BOOKKEEPING = (name: string) => recordReference(name) === undefined;

function familiarRecord(name: string): string {
  const ref = recordReference(name);
  return ref ? familiarString(ref) : name;
}

/**
 * Turns one namespace's containerd events into Docker's, keeping what it
 * needs to name things: containers (name, image, labels) by id, image ids by
 * record name, network ids by name. Start it from an EventSnapshot; it then
 * follows the stream, and asks EventLookups only about what it has not seen.
 */
export class EventTranslator {
  readonly containers = new Map<string, ContainerIdentity>();
  /** Record name → image id; bookkeeping records included (an image is deleted with its last record). */
  readonly imageIds = new Map<string, string>();
  readonly networks = new Map<string, { id: string; type: string }>();

  constructor(
    private readonly lookups: EventLookups,
    /** The image-making command of the daemon's running now in this namespace, if any. */
    private readonly imageOperation: (record: string) => ImageOperation | undefined = () => undefined,
  ) {}

  load(snapshot: EventSnapshot): void {
    for (const container of snapshot.containers) this.containers.set(container.Id, containerIdentity(container));
    for (const image of snapshot.images) for (const record of image.records) this.imageIds.set(record.name, image.id);
  }

  /** Networks named by a command about to remove them that this translator has not seen made. */
  unknownNetworks(command: ObservedCommand): string[] {
    if (command.verb[0] !== "network" || command.verb[1] !== "rm") return [];
    const ids = [...this.networks.values()].map((network) => network.id);
    return command.positionals.filter((ref) => !this.networks.has(ref) && !ids.some((id) => id.startsWith(ref)));
  }

  async translate(event: NerdctlEvent): Promise<DockerEvent[]> {
    const time = timestampNano(event.Timestamp) ?? nowNano();
    const payload = eventPayload(event);
    const text = (key: string) => (typeof payload[key] === "string" ? (payload[key] as string) : "");
    const containerEvent = (id: string, action: string, extra?: Record<string, string>) => {
      const container = this.containers.get(id) ?? { id, name: "", image: "", labels: {} };
      return makeEvent("container", action, containerActor(container, extra), time);
    };
    switch (event.Topic) {
      case "/containers/create": {
        const id = text("id");
        if (!this.containers.has(id)) {
          const found = await this.lookups.container(id);
          this.containers.set(id, found ? containerIdentity(found) : { id, name: "", image: familiarize(text("image")), labels: {} });
        }
        return [containerEvent(id, "create")];
      }
      case "/containers/update": {
        const id = text("id");
        const labels = (payload.labels ?? {}) as Record<string, string>;
        const name = labels["nerdctl/name"];
        const known = this.containers.get(id);
        const updated: ContainerIdentity = {
          id,
          name: name ?? known?.name ?? "",
          image: text("image") ? familiarize(text("image")) : (known?.image ?? ""),
          labels: userLabels(labels),
        };
        this.containers.set(id, updated);
        if (known && known.name !== "" && name !== undefined && name !== known.name) {
          return [containerEvent(id, "rename", { oldName: `/${known.name}` })];
        }
        return [];
      }
      case "/containers/delete": {
        const id = text("id");
        const destroyed = containerEvent(id, "destroy");
        this.containers.delete(id);
        return [destroyed];
      }
      case "/tasks/start":
        return [containerEvent(text("container_id"), "start")];
      case "/tasks/exit": {
        const containerId = text("container_id");
        const processId = text("id");
        const exitCode = String(typeof payload.exit_status === "number" ? payload.exit_status : 0);
        if (processId && processId !== containerId) return [containerEvent(containerId, "exec_die", { execID: processId, exitCode })];
        return [containerEvent(containerId, "die", { exitCode })];
      }
      case "/tasks/paused":
        return [containerEvent(text("container_id"), "pause")];
      case "/tasks/resumed":
        return [containerEvent(text("container_id"), "unpause")];
      case "/tasks/oom":
        return [containerEvent(text("container_id"), "oom")];
      case "/tasks/checkpointed":
        return [containerEvent(text("container_id"), "checkpoint")];
      case "/tasks/exec-added":
        return [containerEvent(text("container_id"), "exec_create", { execID: text("exec_id") })];
      case "/tasks/exec-started":
        return [containerEvent(text("container_id"), "exec_start", { execID: text("exec_id") })];
      case "/images/create":
      case "/images/update":
        return this.#imageMade(text("name"), time);
      case "/images/delete":
        return this.#imageDeleted(text("name"), time);
      default:
        return [];
    }
  }

  async #imageMade(record: string, time: bigint): Promise<DockerEvent[]> {
    // The engine's own records (import@…) are not names nerdctl resolves, nor names Docker shows.
    if (record === "" || BOOKKEEPING(record)) return [];
    const previous = this.imageIds.get(record);
    const id = await this.lookups.imageId(record);
    if (id) this.imageIds.set(record, id);
    const operation = this.imageOperation(record);
    // A name written again with the image it had (nerdctl updates records it re-imports) changes nothing.
    if (!operation && id !== undefined && previous === id) return [];
    if (operation?.kind === "pull") {
      if (operation.reported.has(record)) return [];
      operation.reported.add(record);
      const ref = recordReference(operation.reference ?? record) ?? recordReference(record);
      if (!ref) return [];
      const pulled = tagNameOnly(ref);
      return [makeEvent("image", "pull", { ID: familiarString(pulled), Attributes: { name: familiarName(pulled) } }, time)];
    }
    const imageId = id ?? familiarRecord(record);
    if (operation) {
      if (operation.reported.has(imageId)) return [];
      operation.reported.add(imageId);
      return [makeEvent("image", operation.kind, { ID: imageId, Attributes: { name: imageId } }, time)];
    }
    return [makeEvent("image", "tag", { ID: imageId, Attributes: { name: familiarRecord(record) } }, time)];
  }

  #imageDeleted(record: string, time: bigint): DockerEvent[] {
    if (record === "") return [];
    const id = this.imageIds.get(record);
    this.imageIds.delete(record);
    const events: DockerEvent[] = [];
    // dockerd names the image by its id in both.
    if (!BOOKKEEPING(record)) events.push(makeEvent("image", "untag", { ID: id ?? familiarRecord(record), Attributes: { name: id ?? familiarRecord(record) } }, time));
    if (id && ![...this.imageIds.values()].includes(id)) events.push(makeEvent("image", "delete", { ID: id, Attributes: { name: id } }, time));
    return events;
  }

  /** The container a command named (a name, a full id or an id prefix), as far as this translator knows it. */
  resolveContainer(ref: string): ContainerIdentity | undefined {
    const wanted = ref.replace(/^\//, "");
    const all = [...this.containers.values()];
    return (
      all.find((container) => container.id === wanted || container.name === wanted) ??
      (/^[0-9a-f]+$/.test(wanted) ? all.filter((container) => container.id.startsWith(wanted)).at(0) : undefined)
    );
  }

  /**
   * Events containerd has no topic for, from a command of the daemon's that
   * succeeded: volume create/destroy, network create/destroy (their files are
   * nerdctl's, not containerd's), and container kill/stop/restart (containerd
   * reports only the exit they cause).
   */
  eventsFromCommand(command: ObservedCommand, stdout: string, time: bigint = nowNano()): DockerEvent[] {
    const [first, second] = command.verb;
    const names = command.positionals;
    if (first === "volume" && second === "create" && names[0]) {
      return [makeEvent("volume", "create", { ID: names[0], Attributes: { driver: "local" } }, time)];
    }
    if (first === "volume" && second === "rm") {
      return names.map((name) => makeEvent("volume", "destroy", { ID: name, Attributes: { driver: "local" } }, time));
    }
    if (first === "network" && second === "create" && names[0]) {
      const id = stdout.trim().split("\n").at(-1)?.trim() || names[0];
      const type = flagValue(command.flags, "--driver", "-d") ?? "bridge";
      this.networks.set(names[0], { id, type });
      return [makeEvent("network", "create", { ID: id, Attributes: { name: names[0], type } }, time)];
    }
    if (first === "network" && second === "rm") {
      return names.map((ref) => {
        const byName = this.networks.get(ref);
        const entry = byName ? ([ref, byName] as const) : [...this.networks].find(([, network]) => network.id.startsWith(ref));
        if (entry) this.networks.delete(entry[0]);
        const [name, network] = entry ?? [ref, { id: ref, type: "bridge" }];
        return makeEvent("network", "destroy", { ID: network.id, Attributes: { name, type: network.type } }, time);
      });
    }
    const containerAction = first === "kill" ? "kill" : first === "stop" ? "stop" : first === "restart" ? "restart" : undefined;
    if (containerAction && second === undefined) {
      const extra: Record<string, string> = {};
      if (containerAction === "kill") extra.signal = signalNumber(flagValue(command.flags, "--signal", "-s") ?? "SIGKILL");
      return names.flatMap((ref) => {
        const container = this.resolveContainer(ref);
        return container ? [makeEvent("container", containerAction, containerActor(container, extra), time)] : [];
      });
    }
    return [];
  }
}

/** Docker reports a kill's signal by number: "9". */
export function signalNumber(signal: string): string {
  if (/^\d+$/.test(signal)) return signal;
  const name = signal.toUpperCase().startsWith("SIG") ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
  const number = (constants.signals as Record<string, number | undefined>)[name];
  return number === undefined ? signal : String(number);
}

/** The image-making commands whose images are reported as what they are, not as tags. */
export function imageOperationOf(command: ObservedCommand): Omit<ImageOperation, "reported"> | undefined {
  const [first, second] = command.verb;
  const verb = first === "image" ? second : first;
  if (verb === "pull" && command.positionals[0]) return { kind: "pull", reference: command.positionals[0] };
  if (verb === "load") return { kind: "load" };
  if (verb === "import") return { kind: "import" };
  return undefined;
}
