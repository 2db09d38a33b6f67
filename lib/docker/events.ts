import { badParameter } from "../errors.ts";
import { familiarName, parseNormalizedNamed } from "../reference.ts";
import { Filters, parseFilterTime } from "./filters.ts";

/*
 * Docker's events (API 1.43 `events.Message`): the document, its encoding,
 * GET /events' query and dockerd's filter. What they are made from is
 * event-translator.ts (containerd's events) and operation-events.ts (what
 * nerdctld itself did).
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
