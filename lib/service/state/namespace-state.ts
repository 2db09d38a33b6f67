import type { Nerdctl } from "../../nerdctl/client.ts";
import { info, version } from "../../nerdctl/system.ts";
import type { NerdctlInfo, NerdctlVersion } from "../../nerdctl/types.ts";
import { changesImages, containerOfEvent, type NerdctlEvent } from "../../nerdctl/events.ts";
import type { EngineObserver } from "../events/bus.ts";
import { ContainerRecords, type RecordsOptions } from "./container-records.ts";
import { ImageIdentities } from "./image-identities.ts";
import { ImageRecords } from "./image-records.ts";

/**
 * What nerdctld keeps of one containerd namespace so that reads need no
 * nerdctl: containers and the identities of their images, current as of the
 * engine's events and of nerdctld's own changes, which its services report
 * before they answer (so the next read sees them). Until the namespace's
 * event stream runs, nothing is kept and reads ask nerdctl.
 */
export class NamespaceState implements EngineObserver {
  readonly containers: ContainerRecords;
  /** The images containers name, by reference (what container lists show of them). */
  readonly images: ImageIdentities;
  readonly imageRecords: ImageRecords;
  /** nerdctl's info and version, read once per run of the engine's stream (an engine restart restarts it). */
  readonly #engineFacts = new Map<"info" | "version", Promise<unknown>>();
  #following = false;

  constructor(
    private readonly nerdctl: Nerdctl,
    options: RecordsOptions,
  ) {
    this.containers = new ContainerRecords(nerdctl, options);
    this.images = new ImageIdentities(nerdctl);
    this.imageRecords = new ImageRecords(nerdctl, options);
  }

  streamStarted(): void {
    this.#following = true;
    this.#engineFacts.clear();
    this.containers.streamStarted();
    this.images.streamStarted();
    this.imageRecords.streamStarted();
  }

  engineEvent(event: NerdctlEvent): void {
    const container = containerOfEvent(event);
    if (container) this.containers.mark(container);
    if (changesImages(event)) this.imagesChanged();
  }

  streamEnded(): void {
    this.#following = false;
    this.#engineFacts.clear();
    this.containers.streamEnded();
    this.images.streamEnded();
    this.imageRecords.streamEnded();
  }

  engineVersion(): Promise<NerdctlVersion> {
    return this.#engineFact("version", () => version(this.nerdctl));
  }

  engineInfo(): Promise<NerdctlInfo> {
    return this.#engineFact("info", () => info(this.nerdctl));
  }

  #engineFact<T>(key: "info" | "version", read: () => Promise<T>): Promise<T> {
    if (!this.#following) return read();
    let fact = this.#engineFacts.get(key) as Promise<T> | undefined;
    if (!fact) {
      const reading = read();
      this.#engineFacts.set(key, reading);
      // A failed read is not remembered.
      reading.catch(() => this.#engineFacts.get(key) === reading && this.#engineFacts.delete(key));
      fact = reading;
    }
    return fact;
  }

  /** nerdctld changed (or removed) a container: the next read shows it as it is. */
  containerChanged(id: string): void {
    this.containers.mark(id);
  }

  /** nerdctld changed images (made, tagged, removed): the next read shows them as they are. */
  imagesChanged(): void {
    this.images.changed();
    this.imageRecords.changed();
  }
}
