import { dirname } from "node:path";
import type { VolumeSnapshot } from "../nerdctl/volumes.ts";
import type { NerdctlVolume } from "../nerdctl/volume-types.ts";
import { badParameter } from "../errors.ts";
import { noneOfLabels, type Filters } from "./filters.ts";

/** Docker API v1.43 Volume. */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: "local";
  Options: Record<string, string>;
  UsageData?: { Size: number; RefCount: number };
}

/** nerdctl marks the volumes it creates for a container's anonymous `-v /path` with this label. */
export const ANONYMOUS_VOLUME_LABEL = "nerdctl/anonymous-volumes";

export const VOLUME_FILTERS = ["name", "label", "dangling", "driver"] as const;
export const VOLUME_PRUNE_FILTERS = ["label", "label!", "all"] as const;

/** The volume's own directory (its Mountpoint is the `_data` inside): its creation time is the volume's. */
export function volumeDirectory(volume: NerdctlVolume): string {
  return dirname(volume.Mountpoint);
}

/** nerdctl's volumes are all local; `createdAt` comes from the volume's directory. */
export function toVolume(volume: NerdctlVolume, createdAt: string, usage?: { refCount: number }): Volume {
  return {
    Name: volume.Name,
    Driver: "local",
    Mountpoint: volume.Mountpoint,
    CreatedAt: createdAt,
    Labels: Object.fromEntries(Object.entries(volume.Labels ?? {}).filter(([key]) => key !== ANONYMOUS_VOLUME_LABEL)),
    Scope: "local",
    Options: {},
    ...(usage ? { UsageData: { Size: volume.Size ?? 0, RefCount: usage.refCount } } : {}),
  };
}

/** GET /volumes filters, with dockerd's meanings (name is a regular expression, label needs all). */
export function selectVolumes(snapshot: VolumeSnapshot, filters: Filters): NerdctlVolume[] {
  const dangling = filters.bool("dangling");
  return snapshot.volumes.filter(
    (volume) =>
      filters.match("name", volume.Name) &&
      filters.matchLabels(volume.Labels) &&
      filters.exactMatch("driver", "local") &&
      (dangling === undefined || dangling === !snapshot.inUse.has(volume.Name)),
  );
}

/**
 * What POST /volumes/prune removes: volumes no container uses — only
 * anonymous ones from API 1.42 on unless `all=true`, as dockerd 23+ does.
 */
export function pruneCandidates(snapshot: VolumeSnapshot, filters: Filters, apiVersionAtLeast142: boolean): NerdctlVolume[] {
  const all = filters.bool("all") ?? !apiVersionAtLeast142;
  return snapshot.volumes.filter(
    (volume) =>
      !snapshot.inUse.has(volume.Name) &&
      (all || volume.Labels?.[ANONYMOUS_VOLUME_LABEL] !== undefined) &&
      filters.matchLabels(volume.Labels) &&
      noneOfLabels(filters, volume.Labels),
  );
}

export interface VolumeCreateRequest {
  /** None: an anonymous volume. */
  name?: string;
  labels: Record<string, string>;
}

/** POST /volumes/create body (Name, Driver, DriverOpts, Labels). */
export function parseVolumeCreate(body: unknown): VolumeCreateRequest {
  const request = (body ?? {}) as { Name?: unknown; Driver?: unknown; DriverOpts?: unknown; Labels?: unknown };
  if (request.Name !== undefined && request.Name !== "" && typeof request.Name !== "string") throw badParameter("Name must be a string");
  if (request.Driver !== undefined && request.Driver !== "" && request.Driver !== "local") {
    throw badParameter(`volume driver ${JSON.stringify(request.Driver)} is not available: nerdctl has only the local driver`);
  }
  if (request.DriverOpts && typeof request.DriverOpts === "object" && Object.keys(request.DriverOpts).length > 0) {
    throw badParameter("volume driver options are not supported: nerdctl's local driver takes none");
  }
  const labels = request.Labels ?? {};
  if (typeof labels !== "object" || Array.isArray(labels) || Object.values(labels).some((value) => typeof value !== "string")) {
    throw badParameter("Labels must be an object of strings");
  }
  return { name: request.Name || undefined, labels: labels as Record<string, string> };
}
