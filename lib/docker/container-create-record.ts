import type { NerdctlContainerInspect, NerdctlImageIdentity } from "../nerdctl/container-types.ts";
import type { ContainerCreateRequest } from "./container-create-types.ts";

/*
 * What a client set that nerdctl keeps nowhere (Tty, OpenStdin, ExposedPorts,
 * Binds, the command as given, …) rides with the container in labels of
 * nerdctld's own, so that its inspect shows it as dockerd would. containerd
 * caps a label at 4 KiB, so the record is cut into numbered pieces.
 */

/** Labels under this prefix are nerdctld's; no client sets them, no listing shows them. */
export const RECORD_LABEL_PREFIX = "nerdctld/";
const RECORD_LABEL = `${RECORD_LABEL_PREFIX}create.`;
const PIECE = 3800;

/** Config fields shown from the record. */
const CONFIG_KEYS = [
  "Image",
  "Cmd",
  "Entrypoint",
  "Tty",
  "OpenStdin",
  "StdinOnce",
  "AttachStdin",
  "AttachStdout",
  "AttachStderr",
  "ExposedPorts",
  "Volumes",
  "WorkingDir",
  "StopSignal",
  "StopTimeout",
  "Healthcheck",
  "ArgsEscaped",
  "OnBuild",
  "Shell",
  "MacAddress",
  "NetworkDisabled",
] as const;

/**
 * HostConfig fields shown from the record: those nerdctl does not report, or
 * reports in its own terms (caps with CAP_, tmpfs with its defaults, --cpus
 * as quota and period), and that nothing changes after creation.
 */
export const RECORDED_HOST_KEYS = [
  "Binds",
  "Mounts",
  "PortBindings",
  "PublishAllPorts",
  "VolumesFrom",
  "VolumeDriver",
  "SecurityOpt",
  "Init",
  "ContainerIDFile",
  "ConsoleSize",
  "Links",
  "MaskedPaths",
  "ReadonlyPaths",
  "Tmpfs",
  "Sysctls",
  "GroupAdd",
  "CapAdd",
  "CapDrop",
  "NetworkMode",
  "Isolation",
  "NanoCpus",
  "CpuCount",
  "CpuPercent",
  "Devices",
  "ShmSize",
  "LogConfig",
  "UsernsMode",
  "RestartPolicy",
] as const;

export interface CreateRecord {
  Config: Record<string, unknown>;
  HostConfig: Record<string, unknown>;
}

function pick(source: object | null | undefined, keys: readonly string[]): Record<string, unknown> {
  const entries = Object.entries(source ?? {}).filter(([key, value]) => keys.includes(key) && value !== undefined);
  return Object.fromEntries(entries);
}

/** The record of a create body as `key=value` label words, pure ASCII (non-ASCII escaped) so that pieces cut anywhere. */
export function recordLabels(request: ContainerCreateRequest): string[] {
  const record: CreateRecord = { Config: pick(request, CONFIG_KEYS), HostConfig: pick(request.HostConfig, RECORDED_HOST_KEYS) };
  const json = JSON.stringify(record).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const words: string[] = [];
  for (let index = 0; index * PIECE < json.length; index++) words.push(`${RECORD_LABEL}${index}=${json.slice(index * PIECE, (index + 1) * PIECE)}`);
  return words;
}

/** The record a container's labels carry; undefined for one made otherwise (or whose record cannot be read). */
export function readRecord(labels: Record<string, string> | null | undefined): CreateRecord | undefined {
  const pieces: string[] = [];
  for (let index = 0; labels?.[`${RECORD_LABEL}${index}`] !== undefined; index++) pieces.push(labels[`${RECORD_LABEL}${index}`]!);
  if (pieces.length === 0) return undefined;
  try {
    const record = JSON.parse(pieces.join("")) as CreateRecord;
    return record && typeof record === "object" ? { Config: record.Config ?? {}, HostConfig: record.HostConfig ?? {} } : undefined;
  } catch {
    return undefined;
  }
}

/** Docker's StrSlice as recorded: a list, one string, or nothing. */
function strSlice(value: unknown): string[] | null {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? (value as string[]) : null;
}

/** Config.Entrypoint and Config.Cmd as dockerd merges the client's with the image's. */
export function recordedCommand(record: CreateRecord, image: NerdctlImageIdentity | undefined): { entrypoint: string[] | null; cmd: string[] | null } {
  const entrypoint = strSlice(record.Config.Entrypoint);
  const cmd = strSlice(record.Config.Cmd);
  if (entrypoint?.length) return { entrypoint, cmd };
  return { entrypoint: entrypoint ?? image?.Config.Entrypoint ?? null, cmd: cmd?.length ? cmd : (image?.Config.Cmd ?? null) };
}

function mergedSet(...sets: (Record<string, object> | null | undefined)[]): Record<string, Record<string, never>> | null {
  const keys = [...new Set(sets.flatMap((set) => Object.keys(set ?? {})))];
  return keys.length ? Object.fromEntries(keys.map((key) => [key, {}])) : null;
}

/** The Config fields a record shows (over nerdctl's), merged with the image's as dockerd merges them. */
export function recordedConfig(record: CreateRecord, config: NerdctlContainerInspect["Config"], image: NerdctlImageIdentity | undefined) {
  const recorded = record.Config;
  const flag = (key: string) => recorded[key] === true;
  const env = config.Env ?? [];
  // nerdctl appends HOSTNAME=<hostname> to every container's environment; dockerd sets it in the process only.
  const last = env.at(-1);
  const shownEnv = last !== undefined && last === `HOSTNAME=${config.Hostname}` ? env.slice(0, -1) : env;
  const optional = Object.fromEntries(
    ["StopTimeout", "Healthcheck", "ArgsEscaped", "Shell", "MacAddress", "NetworkDisabled"].filter((key) => recorded[key] !== undefined).map((key) => [key, recorded[key]]),
  );
  return {
    AttachStdin: flag("AttachStdin"),
    AttachStdout: flag("AttachStdout"),
    AttachStderr: flag("AttachStderr"),
    Tty: flag("Tty"),
    OpenStdin: flag("OpenStdin"),
    StdinOnce: flag("StdinOnce"),
    Env: shownEnv,
    ExposedPorts: mergedSet(image?.Config.ExposedPorts, recorded.ExposedPorts as Record<string, object> | null) ?? undefined,
    Volumes: mergedSet(image?.Config.Volumes, recorded.Volumes as Record<string, object> | null),
    WorkingDir: (typeof recorded.WorkingDir === "string" && recorded.WorkingDir) || image?.Config.WorkingDir || "",
    ...(typeof recorded.StopSignal === "string" && recorded.StopSignal ? { StopSignal: recorded.StopSignal } : {}),
    OnBuild: strSlice(recorded.OnBuild),
    ...optional,
  };
}

/** The HostConfig fields a record shows over nerdctl's `shown` ones. */
export function recordedHostConfig(record: CreateRecord, shown: Record<string, unknown>): Record<string, unknown> {
  // What nerdctl shows of these includes its own defaults (a sysctl, the user's group, tmpfs options): unset is none.
  const unset = Object.fromEntries(["Sysctls", "Tmpfs", "GroupAdd", "CapAdd", "CapDrop"].map((key) => [key, null]));
  const recorded: Record<string, unknown> = { ...unset, ...record.HostConfig };
  // nerdctl's restart policy label is the current one (an update changes it); the record only fills in an unset one.
  if ((shown.RestartPolicy as { Name?: string } | undefined)?.Name) delete recorded.RestartPolicy;
  // An empty LogConfig is the default one, which nerdctl names.
  if (!(recorded.LogConfig as { Type?: string } | null | undefined)?.Type) delete recorded.LogConfig;
  if (!recorded.NetworkMode) delete recorded.NetworkMode;
  // --cpus is kept as a quota over a period; dockerd shows NanoCpus alone.
  if (recorded.NanoCpus) Object.assign(recorded, { CpuQuota: 0, CpuPeriod: 0 });
  return recorded;
}

/** Whether the container was made with a terminal, as its create record says; undefined for one made otherwise. */
export function recordedTerminal(labels: Record<string, string> | null | undefined): boolean | undefined {
  const tty = readRecord(labels)?.Config.Tty;
  return tty === undefined ? undefined : tty === true;
}
