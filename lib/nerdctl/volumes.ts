import { randomBytes } from "node:crypto";
import { badParameter, isKind } from "../errors.ts";
import type { Nerdctl } from "./client.ts";
import { errorFromStderr } from "./errors.ts";
import type { NerdctlVolume } from "./volume-types.ts";
import type { NerdctlContainerInspect } from "./container-types.ts";
import { allContainers } from "./containers.ts";
import { assertObjectName } from "./validate.ts";

const subject = (name: string) => ({ kind: "volume" as const, name });

/** Names of the namespace's volumes. */
export async function listVolumeNames(nerdctl: Nerdctl): Promise<string[]> {
  const stdout = await nerdctl.output(["volume", "ls", "--quiet"], {}, { shared: true });
  return stdout.split("\n").filter((line) => line.trim() !== "");
}

/**
 * Inspects volumes by name, all in one call, with their sizes when asked.
 * nerdctl prints those it could read and fails the call for the others; a
 * listing (`listed`) keeps what it printed, so a volume removed since it was
 * listed is left out rather than failing the list.
 */
export async function inspectVolumes(nerdctl: Nerdctl, names: string[], options: { size?: boolean; listed?: boolean } = {}): Promise<NerdctlVolume[]> {
  if (names.length === 0) return [];
  for (const name of names) assertObjectName("volume", name);
  const args = ["volume", "inspect", ...(options.size ? ["--size"] : []), "--", ...names];
  if (!options.listed) return nerdctl.json<NerdctlVolume[]>(args, subject(names[0]!));
  const result = await nerdctl.runner.run(nerdctl.command(args), { shared: true });
  if (result.exitCode !== 0 && !/some volumes could not be inspected/.test(result.stderr)) throw errorFromStderr(result.stderr, {});
  return JSON.parse(result.stdout) as NerdctlVolume[];
}

export interface VolumeSnapshot {
  volumes: NerdctlVolume[];
  /** Names of the volumes some container (running or not) mounts. */
  inUse: Set<string>;
}

/**
 * Every volume with its labels and whether a container uses it, in four
 * calls whatever their number. (nerdctl 2.3's own `dangling` filter lists
 * used volumes as dangling, so usage comes from the containers' mounts.)
 */
export async function volumeSnapshot(nerdctl: Nerdctl, options: { size?: boolean } = {}): Promise<VolumeSnapshot> {
  const [volumes, containers] = await Promise.all([allVolumes(nerdctl, options), allContainers(nerdctl)]);
  return { volumes, inUse: mountedVolumes(containers) };
}

/** Every volume of the namespace, inspected in one call. */
export async function allVolumes(nerdctl: Nerdctl, options: { size?: boolean } = {}): Promise<NerdctlVolume[]> {
  return inspectVolumes(nerdctl, await listVolumeNames(nerdctl), { ...options, listed: true });
}

/** Names of the volumes these containers mount. */
export function mountedVolumes(containers: NerdctlContainerInspect[]): Set<string> {
  return new Set(containers.flatMap((container) => (container.Mounts ?? []).filter((mount) => mount.Type === "volume").map((mount) => mount.Name ?? "")));
}

/** Docker names anonymous volumes with 64 random hex digits. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString("hex");
}

export interface VolumeCreateOptions {
  name: string;
  labels: Record<string, string>;
}

/** Creates a volume (an existing one with that name is returned as it is, as dockerd does). */
export async function createVolume(nerdctl: Nerdctl, options: VolumeCreateOptions): Promise<NerdctlVolume> {
  assertObjectName("volume", options.name);
  const labelArgs = Object.entries(options.labels).flatMap(([key, value]) => {
    if (key === "" || /[\0\n]/.test(key + value)) throw badParameter(`invalid label ${JSON.stringify(key)}`);
    // `--label=…` in one word, so a label can never be read as a flag of its own.
    return [`--label=${key}=${value}`];
  });
  for (let attempt = 1; ; attempt++) {
    await nerdctl.output(["volume", "create", ...labelArgs, "--", options.name], subject(options.name));
    try {
      const [volume] = await inspectVolumes(nerdctl, [options.name]);
      return volume!;
    } catch (error) {
      // A removal ran between the two calls: made again, as if that removal had come first (dockerd serialises them).
      if (attempt >= CREATE_ATTEMPTS || !isKind(error, "not-found")) throw error;
    }
  }
}

/** How many times a volume removed as soon as made is made again. */
const CREATE_ATTEMPTS = 3;

/** Removes volumes; nerdctl refuses one a container uses (409). */
export async function removeVolumes(nerdctl: Nerdctl, names: string[]): Promise<void> {
  if (names.length === 0) return;
  for (const name of names) assertObjectName("volume", name);
  await nerdctl.output(["volume", "rm", "--", ...names], subject(names[0]!));
}
