import type { ContainerSize, ContainerSnapshot } from "../nerdctl/container-types.ts";
import { toDiskUsage, volumeOrder, type DiskUsage, type DiskUsageType } from "../docker/system-df.ts";
import { volumeDirectory } from "../docker/volumes.ts";
import { createdAtOf } from "../host/facts.ts";
import { allContainers, containerSizes, containerSnapshot } from "../nerdctl/containers.ts";
import { buildCacheUsage } from "../nerdctl/system.ts";
import { inspectVolumes, listVolumeNames } from "../nerdctl/volumes.ts";
import { namespaceImages } from "./images.ts";
import type { Scope } from "./scope.ts";

const EMPTY_SNAPSHOT: ContainerSnapshot = { containers: [], images: new Map() };

/**
 * GET /system/df: containers (ps, inspect, their images), their sizes
 * (ps --size), images (one inspect of every record), volumes (ls, inspect
 * --size), build cache (buildctl du) — at most eight calls, only those the
 * asked-for types need. One after the other: the engine sees one call at a
 * time, and the calls come in one order (so do fixtures).
 */
export async function diskUsage(scope: Scope, types: Set<DiskUsageType>, apiVersion: string): Promise<DiskUsage> {
  const nerdctl = scope.nerdctl;
  // Containers' images for the container and image lists; only their mounts for the volumes.
  const containers =
    types.has("container") || types.has("image")
      ? await containerSnapshot(nerdctl, { all: true })
      : types.has("volume")
        ? { containers: await allContainers(nerdctl), images: new Map() }
        : EMPTY_SNAPSHOT;
  const sizes = types.has("container") ? await containerSizes(nerdctl) : new Map<string, ContainerSize>();
  const images = types.has("image") ? await namespaceImages(scope) : [];
  const volumes = types.has("volume") ? await inspectVolumes(nerdctl, volumeOrder(await listVolumeNames(nerdctl)), { size: true, listed: true }) : [];
  const buildCache = types.has("build-cache") ? await buildCacheUsage(nerdctl) : [];
  const volumeCreated = await createdAtOf(volumes.map(volumeDirectory));
  return toDiskUsage({ images, containers, sizes, volumes, buildCache }, types, { apiVersion, now: Date.now(), volumeCreated });
}
