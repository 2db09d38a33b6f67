import type { Filters } from "../docker/filters.ts";
import { pruneCandidates, selectVolumes, toVolume, volumeDirectory, type Volume, type VolumeCreateRequest } from "../docker/volumes.ts";
import { conflict, isKind } from "../errors.ts";
import { createdAtOf } from "../host/facts.ts";
import type { NerdctlVolume } from "../nerdctl/volume-types.ts";
import { anonymousVolumeName, createVolume, inspectVolumes, mountedVolumes, removeVolumes, volumeSnapshot } from "../nerdctl/volumes.ts";
import type { Scope } from "./scope.ts";

/** Docker's volumes, each with its directory's creation time (nerdctl records none). */
async function dockerVolumes(volumes: NerdctlVolume[]): Promise<Volume[]> {
  const created = await createdAtOf(volumes.map(volumeDirectory));
  return volumes.map((volume) => toVolume(volume, created.get(volumeDirectory(volume)) ?? ""));
}

/** GET /volumes. */
export async function volumeList(scope: Scope, filters: Filters): Promise<{ Volumes: Volume[]; Warnings: null }> {
  const [volumes, containers] = await Promise.all([scope.state.volumes.current(), scope.state.containers.all()]);
  const snapshot = volumes && containers ? { volumes, inUse: mountedVolumes(containers) } : await volumeSnapshot(scope.nerdctl);
  const selected = selectVolumes(snapshot, filters);
  return { Volumes: await dockerVolumes(selected), Warnings: null };
}

/** GET /volumes/{name}. */
export async function volumeInspect(scope: Scope, name: string): Promise<Volume> {
  const [volume] = await dockerVolumes(await inspectVolumes(scope.nerdctl, [name]));
  return volume!;
}

/** POST /volumes/create: an existing volume of that name is answered as it is, as dockerd does. */
export async function volumeCreate(scope: Scope, request: VolumeCreateRequest): Promise<Volume> {
  const volume = await scope.state.changing("volumes", () => createVolume(scope.nerdctl, { name: request.name ?? anonymousVolumeName(), labels: request.labels }));
  scope.events.emit({ type: "volume", action: "create", name: volume.Name });
  const [created] = await dockerVolumes([volume]);
  return created!;
}

/** DELETE /volumes/{name}. */
export async function volumeRemove(scope: Scope, name: string): Promise<void> {
  // nerdctl says nothing precise when the volume is missing: ask first, for dockerd's 404.
  await inspectVolumes(scope.nerdctl, [name]);
  try {
    await scope.state.changing("volumes", () => removeVolumes(scope.nerdctl, [name]));
  } catch (error) {
    // nerdctl's own words are "some volumes could not be removed"; dockerd's say why.
    if (isKind(error, "conflict")) throw conflict(`remove ${name}: volume is in use`);
    throw error;
  }
  scope.events.emit({ type: "volume", action: "destroy", name });
}

/**
 * POST /volumes/prune: volumes no container uses — only anonymous ones from
 * API 1.42 on unless `all=true`, as dockerd 23+ does.
 */
export async function volumePrune(
  scope: Scope,
  filters: Filters,
  apiVersionAtLeast142: boolean,
): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
  const candidates = pruneCandidates(await volumeSnapshot(scope.nerdctl, { size: true }), filters, apiVersionAtLeast142);
  const names = candidates.map((volume) => volume.Name);
  await scope.state.changing("volumes", () => removeVolumes(scope.nerdctl, names));
  for (const name of names) scope.events.emit({ type: "volume", action: "destroy", name });
  return { VolumesDeleted: names, SpaceReclaimed: candidates.reduce((total, volume) => total + (volume.Size ?? 0), 0) };
}
