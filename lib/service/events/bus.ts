import type { DockerEvent, EventQuery } from "../../docker/events.ts";
import type { ImageOperationStart, OperationEvent } from "../../docker/operation-events.ts";
import type { NerdctlEvent } from "../../nerdctl/events.ts";

/** What follows a namespace's engine events as they come, untranslated (the daemon's state of the namespace). */
export interface EngineObserver {
  /** The stream (re)started: what happened while it was down is unknown. */
  streamStarted(): void;
  /** One event of the namespace, in the stream's order. */
  engineEvent(event: NerdctlEvent): void;
  /** The stream ended or failed: nothing is followed until it starts again. */
  streamEnded(): void;
}

/** A client's view of the stream: replayed events, then live ones until `until`, close() or an error. */
export interface EventSubscription extends AsyncIterable<DockerEvent> {
  close(): void;
  /** Called once if the subscription is dropped (too slow, or the engine's stream failed). */
  onError(listener: (error: Error) => void): void;
}

/** One containerd namespace's events, as its services and GET /events use them. */
export interface NamespaceEvents {
  /** Announces a change nerdctld made that containerd has no topic for (volumes, networks, kill/stop/restart). */
  emit(event: OperationEvent): void;
  /**
   * Announces an image-making operation (pull, load, import) starting: until
   * the returned function is called, the images containerd reports made in the
   * namespace are reported as that operation's, not as tags.
   */
  imageOperation(operation: ImageOperationStart): () => void;
  /**
   * Of these network references, the ones a destroy event could not name by
   * id. Only while someone reads the namespace's events: a removal looks them
   * up first for no one else.
   */
  unknownNetworks(refs: readonly string[]): string[];
  /**
   * dockerd's SubscribeTopic: with `since` or `until`, the buffered events in
   * that range first; then, unless `until` is past, live events until `until`.
   */
  subscribe(query: EventQuery): EventSubscription;
  /** Hands the namespace's engine events to `observer` from now on, starting the namespace's stream if it is not running. */
  observeEngine(observer: EngineObserver): void;
}

/** The daemon's events, one stream per containerd namespace. */
export interface EventBus {
  /** A namespace's events; undefined is the daemon's own namespace. */
  in(namespace: string | undefined): NamespaceEvents;
}

/** The events of an app built without an event bus: announcements reach no one, and there is nothing to subscribe to. */
export const NO_EVENTS: NamespaceEvents = {
  emit: () => {},
  imageOperation: () => () => {},
  unknownNetworks: () => [],
  subscribe: () => {
    throw new Error("this nerdctld app was built without an event bus");
  },
  observeEngine: () => {},
};
