import { dirname } from "node:path";
import type { Nerdctl } from "../../nerdctl/client.ts";
import { info, version } from "../../nerdctl/system.ts";
import type { NerdctlInfo, NerdctlVersion } from "../../nerdctl/types.ts";
import { timestampNano } from "../../docker/events.ts";
import { changesImages, containerChangedBy, type NerdctlEvent } from "../../nerdctl/events.ts";
import type { EngineObserver } from "../events/bus.ts";
import { ContainerRecords } from "./container-records.ts";
import type { RecordsOptions } from "./followed.ts";
import { ImageIdentities } from "./image-identities.ts";
import { Listing } from "./listing.ts";
import type { NerdctlNativeImage } from "../../nerdctl/image-types.ts";
import { inspectAllRecords } from "../../nerdctl/images.ts";
import type { NerdctlNativeNetwork } from "../../nerdctl/network-types.ts";
import { networkSnapshot } from "../../nerdctl/networks.ts";
import type { NerdctlVolume } from "../../nerdctl/volume-types.ts";
import { allVolumes } from "../../nerdctl/volumes.ts";

/** What nerdctld changes of a namespace, besides containers (which it names one by one). */
export type ObjectKind = "images" | "volumes" | "networks";

/**
 * Volumes and networks are files to nerdctl: containerd publishes no event of
 * them. One changed outside nerdctld shows at once where their directories
 * are watched, and within this long where they cannot be.
 */
export const FILE_OBJECTS_MAX_AGE_MS = 1_000;

/** The directories a namespace's volumes and networks are entries of (see lib/nerdctl/files.ts). */
export interface ObjectDirectories {
  volumes: () => readonly string[];
  networks: () => readonly string[];
  /** Told, once per kind, why its directories are not watched after all. */
  log: (kind: "volumes" | "networks", reason: string) => void;
}

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
  /** Every image record (nerdctl's native inspection). */
  readonly imageRecords: Listing<NerdctlNativeImage[]>;
  readonly volumes: Listing<NerdctlVolume[]>;
  /** Every network, nerdctl's native inspection. */
  readonly networks: Listing<NerdctlNativeNetwork[]>;
  /** nerdctl's info and version, read once per run of the engine's stream (an engine restart restarts it). */
  readonly #engineFacts = new Map<"info" | "version", Promise<unknown>>();
  #following = false;

  constructor(
    private readonly nerdctl: Nerdctl,
    options: RecordsOptions,
    directories?: ObjectDirectories,
  ) {
    // A read that brings the state up to date begins after the change that asked for it: it never joins one begun before.
    const reads = nerdctl.withFreshReads();
    this.containers = new ContainerRecords(reads, options);
    this.images = new ImageIdentities(reads);
    this.imageRecords = new Listing(() => inspectAllRecords(reads), options);
    const fileObjects = { ...options, maxAgeMs: FILE_OBJECTS_MAX_AGE_MS };
    this.volumes = new Listing(
      () => allVolumes(reads),
      fileObjects,
      directories && {
        directories: directories.volumes,
        // A volume is a directory holding its data directory.
        entries: (volumes) => volumes.map((volume) => dirname(volume.Mountpoint)),
        log: (reason) => directories.log("volumes", reason),
      },
    );
    this.networks = new Listing(
      () => networkSnapshot(reads),
      fileObjects,
      directories && {
        directories: directories.networks,
        entries: (networks) => networks.flatMap((network) => (network.File ? [network.File] : [])),
        log: (reason) => directories.log("networks", reason),
      },
    );
  }

  streamStarted(): void {
    this.#following = true;
    this.#engineFacts.clear();
    this.containers.streamStarted();
    this.images.streamStarted();
    for (const listing of this.#listings()) listing.streamStarted();
  }

  engineEvent(event: NerdctlEvent): void {
    const container = containerChangedBy(event);
    const nano = timestampNano(event.Timestamp);
    if (container) this.containers.mark(container, nano === undefined ? undefined : Number((nano + 999_999n) / 1_000_000n));
    if (changesImages(event)) this.imagesChanged();
  }

  streamEnded(): void {
    this.#following = false;
    this.#engineFacts.clear();
    this.containers.streamEnded();
    this.images.streamEnded();
    for (const listing of this.#listings()) listing.streamEnded();
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

  /** nerdctld removed these containers. */
  containersRemoved(ids: readonly string[]): void {
    for (const id of ids) this.containers.gone(id);
  }

  /** nerdctld made a container: its record is read at once, as the client reads it next (docker run attaches and starts). */
  containerCreated(id: string): void {
    this.containers.mark(id);
    void this.containers.all();
  }

  /** nerdctld changed images (made, tagged, removed): the next read shows them as they are. */
  imagesChanged(): void {
    this.images.changed();
    this.imageRecords.changed();
  }

  /** Runs a change of one kind of objects: whatever came of it, the next read sees them as they are. */
  async changing<T>(kind: ObjectKind, change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      if (kind === "images") this.imagesChanged();
      else this[kind].changed();
    }
  }

  #listings() {
    return [this.imageRecords, this.volumes, this.networks];
  }
}
