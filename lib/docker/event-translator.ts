import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import type { NerdctlEvent } from "../nerdctl/events.ts";
import { familiarize, familiarName, familiarString, tagNameOnly } from "../reference.ts";
import { configuredImage, userLabels } from "./containers.ts";
import { makeEvent, nowNano, timestampNano, type DockerEvent, type EventActor } from "./events.ts";
import { recordReference } from "./image-model.ts";
import { signalNumber, type ImageOperationStart, type NetworkIdentity, type OperationEvent } from "./operation-events.ts";

/*
 * Docker's events from containerd's, for one namespace.
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
 * /images/create, /update      image tag; pull / load / import while nerdctld runs that operation
 * /images/delete               image untag, then delete when no name of the image is left
 * (no topic)                   volume create/destroy, network create/destroy, container kill/stop/restart:
 *                              announced by nerdctld's services (fromOperation)
 */

/** What a translator knows when it starts: containers and images as they are. */
export interface EventSnapshot {
  containers: NerdctlContainerInspect[];
  images: { id: string; records: { name: string }[] }[];
}

/** The event's payload, or an empty object when it cannot be read. */
function eventPayload(event: NerdctlEvent): Record<string, unknown> {
  try {
    const value = JSON.parse(event.Event) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** What container events say about their container. */
export interface ContainerIdentity {
  id: string;
  name: string;
  /** As the user named it (`busybox`, as given to docker run). */
  image: string;
  /** The user's labels (nerdctl's own left out). */
  labels: Record<string, string>;
}

function containerIdentity(container: NerdctlContainerInspect): ContainerIdentity {
  return {
    id: container.Id,
    name: container.Name,
    image: configuredImage(container.Config.Labels, container.Config.Image || container.Image),
    labels: userLabels(container.Config.Labels),
  };
}

/** What a container operation adds to the actor's attributes. */
function operationAttributes(operation: Extract<OperationEvent, { type: "container" }>, container: ContainerIdentity): Record<string, string> {
  switch (operation.action) {
    case "kill":
      return { signal: signalNumber(operation.signal ?? "SIGKILL") };
    case "rename":
      return { oldName: `/${operation.oldName}` };
    case "resize":
      return { height: String(operation.height), width: String(operation.width) };
    default:
      return {};
  }
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

/** An image-making operation of nerdctld's, running: what it makes is reported as that. */
export type ImageOperation = ImageOperationStart & {
  /** Image ids already reported for this operation (load reports an image once, whatever its names). */
  reported: Set<string>;
};

const BOOKKEEPING = (name: string) => recordReference(name) === undefined;

function familiarRecord(name: string): string {
  const ref = recordReference(name);
  return ref ? familiarString(ref) : name;
}

/**
 * Turns one namespace's containerd events into Docker's, keeping what it
 * needs to name things: containers (name, image, labels) by id, image ids by
 * record name, network ids by name. Start it from an EventSnapshot; it then
 * follows the stream and nerdctld's own operations, and asks EventLookups
 * only about what it has not seen.
 */
export class EventTranslator {
  readonly containers = new Map<string, ContainerIdentity>();
  /** Record name → image id; bookkeeping records included (an image is deleted with its last record). */
  readonly imageIds = new Map<string, string>();
  /** Networks by name, as nerdctld made them since the translator started. */
  readonly networks = new Map<string, NetworkIdentity>();

  constructor(
    private readonly lookups: EventLookups,
    /** The image-making operation of nerdctld's running now in this namespace, if any. */
    private readonly imageOperation: (record: string) => ImageOperation | undefined = () => undefined,
  ) {}

  load(snapshot: EventSnapshot): void {
    for (const container of snapshot.containers) this.containers.set(container.Id, containerIdentity(container));
    for (const image of snapshot.images) for (const record of image.records) this.imageIds.set(record.name, image.id);
  }

  /** Of these network references, the ones a destroy event could not name by id. */
  unknownNetworks(refs: readonly string[]): string[] {
    return refs.filter((ref) => this.#network(ref) === undefined);
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
          image: configuredImage(labels, text("image")) || (known?.image ?? ""),
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
      const ref = recordReference(operation.reference) ?? recordReference(record);
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

  /** The container a client named (a name, a full id or an id prefix), as far as this translator knows it. */
  resolveContainer(ref: string): ContainerIdentity | undefined {
    const wanted = ref.replace(/^\//, "");
    const all = [...this.containers.values()];
    return (
      all.find((container) => container.id === wanted || container.name === wanted) ??
      (/^[0-9a-f]+$/.test(wanted) ? all.filter((container) => container.id.startsWith(wanted)).at(0) : undefined)
    );
  }

  #network(ref: string): NetworkIdentity | undefined {
    const byName = this.networks.get(ref);
    if (byName) return byName;
    return [...this.networks.values()].find((network) => network.id.startsWith(ref));
  }

  /** Docker's events for something nerdctld did that containerd has no topic for. */
  fromOperation(operation: OperationEvent, time: bigint = nowNano()): DockerEvent[] {
    switch (operation.type) {
      case "volume":
        return [makeEvent("volume", operation.action, { ID: operation.name, Attributes: { driver: "local" } }, time)];
      case "network": {
        const network =
          operation.action === "create"
            ? operation.network
            : (operation.network ?? this.#network(operation.ref) ?? { id: operation.ref, name: operation.ref, type: "bridge" });
        if (operation.action === "create") this.networks.set(network.name, network);
        else this.networks.delete(network.name);
        return [makeEvent("network", operation.action, { ID: network.id, Attributes: { name: network.name, type: network.type } }, time)];
      }
      case "container": {
        const container = this.resolveContainer(operation.container);
        if (!container) return [];
        if (operation.action === "rename") container.name = operation.name;
        const action = operation.action === "health_status" ? `health_status: ${operation.status}` : operation.action;
        return [makeEvent("container", action, containerActor(container, operationAttributes(operation, container)), time)];
      }
    }
  }
}
