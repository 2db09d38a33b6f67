import type { Nerdctl } from "../../nerdctl/client.ts";
import { changesImages, containerOfEvent, type NerdctlEvent } from "../../nerdctl/events.ts";
import type { EngineObserver } from "../events/bus.ts";
import { ContainerRecords, type RecordsOptions } from "./container-records.ts";
import { ImageIdentities } from "./image-identities.ts";

/**
 * What nerdctld keeps of one containerd namespace so that reads need no
 * nerdctl: containers and the identities of their images, current as of the
 * engine's events and of nerdctld's own changes, which its services report
 * before they answer (so the next read sees them). Until the namespace's
 * event stream runs, nothing is kept and reads ask nerdctl.
 */
export class NamespaceState implements EngineObserver {
  readonly containers: ContainerRecords;
  readonly images: ImageIdentities;

  constructor(nerdctl: Nerdctl, options: RecordsOptions) {
    this.containers = new ContainerRecords(nerdctl, options);
    this.images = new ImageIdentities(nerdctl);
  }

  streamStarted(): void {
    this.containers.streamStarted();
    this.images.streamStarted();
  }

  engineEvent(event: NerdctlEvent): void {
    const container = containerOfEvent(event);
    if (container) this.containers.mark(container);
    if (changesImages(event)) this.images.changed();
  }

  streamEnded(): void {
    this.containers.streamEnded();
    this.images.streamEnded();
  }

  /** nerdctld changed (or removed) a container: the next read shows it as it is. */
  containerChanged(id: string): void {
    this.containers.mark(id);
  }

  /** nerdctld changed images (made, tagged, removed): the next read shows them as they are. */
  imagesChanged(): void {
    this.images.changed();
  }
}
