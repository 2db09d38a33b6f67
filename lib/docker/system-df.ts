/**
 * GET /system/df (`docker system df`): images with how many containers use
 * them and what they share, containers with their sizes, volumes with theirs,
 * and BuildKit's cache.
 */
import type { ContainerSize, ContainerSnapshot } from "../nerdctl/container-types.ts";
import type { BuildctlUsageRecord } from "../nerdctl/types.ts";
import type { NerdctlVolume } from "../nerdctl/volume-types.ts";
import { selectContainers } from "./container-selection.ts";
import type { ContainerSummary } from "./container-types.ts";
import { badParameter } from "../errors.ts";
import { Filters } from "./filters.ts";
import type { ImageSummary } from "./image-types.ts";
import { imageSummaries } from "./image-list.ts";
import type { DockerImage } from "./image-model.ts";
import { layerSizes } from "./image-sizes.ts";
import { toVolume, volumeDirectory, type Volume } from "./volumes.ts";

/** API 1.43 BuildCache. */
export interface BuildCacheRecord {
  ID: string;
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

/** API 1.43 SystemDataUsageResponse; a part not asked for (`type`) is null, as dockerd leaves it. */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: ContainerSummary[] | null;
  Volumes: Volume[] | null;
  BuildCache: BuildCacheRecord[] | null;
}

export const DISK_USAGE_TYPES = ["container", "image", "volume", "build-cache"] as const;
export type DiskUsageType = (typeof DISK_USAGE_TYPES)[number];

/** The `type` query parameter (API 1.42+), repeatable; none (or a lone empty one) means everything. */
export function parseDiskUsageTypes(value: unknown): Set<DiskUsageType> {
  const given = (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String);
  const values = given.length === 1 && given[0] === "" ? [] : given;
  for (const type of values) {
    if (!(DISK_USAGE_TYPES as readonly string[]).includes(type)) throw badParameter(`unknown object type: ${type}`);
  }
  return new Set((values.length ? values : DISK_USAGE_TYPES) as DiskUsageType[]);
}

/** `buildctl du`'s records as Docker's BuildCache; none is an empty list. */
export function toBuildCache(records: BuildctlUsageRecord[] | null): BuildCacheRecord[] {
  return (records ?? []).map((record) => ({
    ID: record.id,
    Parents: record.parents?.length ? record.parents : null,
    Type: record.recordType ?? "regular",
    Description: record.description ?? "",
    InUse: record.inUse ?? false,
    Shared: record.shared ?? false,
    Size: record.size ?? 0,
    CreatedAt: record.createdAt ?? "",
    LastUsedAt: record.lastUsedAt ?? null,
    UsageCount: record.usageCount ?? 0,
  }));
}

/** Docker's LayersSize: every distinct layer once (chain ids shared between images counted once). */
export function layersSize(images: readonly DockerImage[]): number {
  const sizes = layerSizes(images);
  const byChain = new Map<string, number>();
  for (const image of images) {
    image.chainIds.forEach((chain, k) => {
      if (!byChain.has(chain)) byChain.set(chain, sizes.get(image.id)?.[k] ?? 0);
    });
  }
  let total = 0;
  for (const size of byChain.values()) total += size;
  return total;
}

/** Images as `docker system df` lists them: shared sizes computed, containers counted by image id. */
export function diskUsageImages(images: readonly DockerImage[], containers: ContainerSnapshot, apiVersion: string): ImageSummary[] {
  const users = new Map<string, number>();
  for (const container of containers.containers) {
    const id = containers.images.get(container.Image)?.Id;
    if (id) users.set(id, (users.get(id) ?? 0) + 1);
  }
  return imageSummaries(images, { all: false, filters: Filters.none, sharedSize: true, apiVersion }).map((summary) => ({
    ...summary,
    Containers: users.get(summary.Id) ?? 0,
  }));
}

/** Volumes with their sizes and how many containers (running or not) mount each. */
export function diskUsageVolumes(volumes: readonly NerdctlVolume[], containers: ContainerSnapshot, created: Map<string, string>): Volume[] {
  const refs = new Map<string, number>();
  for (const container of containers.containers) {
    for (const name of new Set((container.Mounts ?? []).filter((mount) => mount.Type === "volume").map((mount) => mount.Name ?? ""))) {
      refs.set(name, (refs.get(name) ?? 0) + 1);
    }
  }
  return volumes.map((volume) => toVolume(volume, created.get(volumeDirectory(volume)) ?? "", { refCount: refs.get(volume.Name) ?? 0 }));
}

export interface DiskUsageParts {
  images: DockerImage[];
  containers: ContainerSnapshot;
  sizes: Map<string, ContainerSize>;
  volumes: NerdctlVolume[];
  buildCache: BuildctlUsageRecord[];
}

export function toDiskUsage(parts: DiskUsageParts, types: Set<DiskUsageType>, options: { apiVersion: string; now: number; volumeCreated: Map<string, string> }): DiskUsage {
  return {
    LayersSize: types.has("image") ? layersSize(parts.images) : 0,
    Images: types.has("image") ? diskUsageImages(parts.images, parts.containers, options.apiVersion) : null,
    Containers: types.has("container")
      ? selectContainers(parts.containers, { all: true, limit: -1, filters: Filters.none, sizes: parts.sizes }, options.now)
      : null,
    Volumes: types.has("volume") ? diskUsageVolumes(parts.volumes, parts.containers, options.volumeCreated) : null,
    BuildCache: types.has("build-cache") ? toBuildCache(parts.buildCache) : null,
  };
}

/** nerdctl lists volumes in no set order: named ones by name, then anonymous ones (64 hex digits). */
export function volumeOrder(names: string[]): string[] {
  const anonymous = (name: string) => /^[0-9a-f]{64}$/.test(name);
  return [...names].sort((a, b) => Number(anonymous(a)) - Number(anonymous(b)) || (a < b ? -1 : a > b ? 1 : 0));
}
