import { badParameter, describeValue } from "../errors.ts";
import { objects, stringMap, strings, text, type CreateFlags } from "./container-create-builder.ts";
import type { ContainerCreateRequest, Mount } from "./container-create-types.ts";

/* Binds, Mounts, Tmpfs, VolumesFrom and the anonymous Volumes of Config, as nerdctl's -v, --mount, --tmpfs and --volumes-from. */

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const PROPAGATION = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];
/** Docker Desktop's consistency hints: meaningless on Linux, as dockerd ignores them. */
const CONSISTENCY = ["consistent", "cached", "delegated"];

/** A path inside the container: absolute, and nothing nerdctl's `src:dst:options` syntax would split. */
function target(spec: string, path: string): string {
  if (!path.startsWith("/") || /[:,\0\n]/.test(path)) throw badParameter(`invalid mount config: invalid mount path: ${describeValue(path)} (${spec})`);
  return path;
}

/** Where a bind or volume mount comes from: an absolute host path, or a volume name. */
function source(spec: string, value: string): { kind: "bind" | "volume"; value: string } {
  if (value.startsWith("/") && !/[:,\0\n]/.test(value)) return { kind: "bind", value };
  if (VOLUME_NAME.test(value)) return { kind: "volume", value };
  throw badParameter(`invalid mount config: ${describeValue(value)} is neither an absolute path nor a volume name (${spec})`);
}

/** A `-v` entry of HostConfig.Binds: `src:dst[:options]` or an anonymous `dst`. */
function bind(flags: CreateFlags, spec: string): { target: string; volume?: string } {
  const parts = spec.split(":");
  if (parts.length === 1) {
    flags.repeat("volume", [target(spec, parts[0]!)]);
    return { target: parts[0]! };
  }
  if (parts.length > 3) throw badParameter(`invalid volume specification: '${spec}'`);
  const from = source(spec, parts[0]!);
  const to = target(spec, parts[1]!);
  const options = (parts[2] ?? "").split(",").filter((option) => option !== "");
  const kept: string[] = [];
  for (const option of options) {
    if (CONSISTENCY.includes(option)) continue;
    if (option === "nocopy") {
      if (from.kind !== "volume") throw badParameter(`invalid volume specification: '${spec}'`);
      flags.warn("Volume option nocopy is not supported: the volume is filled from the image as usual.");
      continue;
    }
    if (PROPAGATION.includes(option) && from.kind !== "bind") throw badParameter(`invalid volume specification: '${spec}'`);
    if (!["ro", "rw", "z", "Z", ...PROPAGATION].includes(option)) throw badParameter(`invalid mode: ${option}`);
    kept.push(option);
  }
  flags.repeat("volume", [[from.value, to, ...(kept.length ? [kept.join(",")] : [])].join(":")]);
  return { target: to, volume: from.kind === "volume" ? from.value : undefined };
}

function checkOptionsOfType(mount: Mount, type: string): void {
  for (const [key, of] of [
    ["BindOptions", "bind"],
    ["VolumeOptions", "volume"],
    ["TmpfsOptions", "tmpfs"],
  ] as const) {
    if (mount[key] && type !== of) throw badParameter(`${key} must not be specified on mount type ${JSON.stringify(type)}`);
  }
}

/** One entry of HostConfig.Mounts. */
function mount(flags: CreateFlags, entry: Mount): { target: string; volume?: string } {
  const type = text("HostConfig.Mounts.Type", entry.Type);
  const spec = `type=${type}`;
  const to = target(spec, text("HostConfig.Mounts.Target", entry.Target));
  checkOptionsOfType(entry, type);
  const readonly = entry.ReadOnly ? ["readonly"] : [];
  switch (type) {
    case "bind": {
      const from = text("HostConfig.Mounts.Source", entry.Source);
      if (source(spec, from).kind !== "bind") throw badParameter(`invalid mount config for type "bind": invalid mount path: '${from}' mount path must be absolute`);
      const options = entry.BindOptions ?? {};
      const propagation = text("HostConfig.Mounts.BindOptions.Propagation", options.Propagation);
      if (propagation && !PROPAGATION.includes(propagation)) throw badParameter(`invalid propagation mode: ${propagation}`);
      if (options.CreateMountpoint) {
        // nerdctl's -v creates a missing source directory; its --mount does not.
        const modes = [...(entry.ReadOnly ? ["ro"] : []), ...(propagation ? [propagation] : []), ...(options.NonRecursive ? ["bind"] : [])];
        flags.repeat("volume", [[from, to, ...(modes.length ? [modes.join(",")] : [])].join(":")]);
        return { target: to };
      }
      const extra = [...(propagation ? [`bind-propagation=${propagation}`] : []), ...(options.NonRecursive ? ["bind-nonrecursive"] : [])];
      flags.repeat("mount", [["type=bind", `source=${from}`, `target=${to}`, ...readonly, ...extra].join(",")]);
      return { target: to };
    }
    case "volume": {
      const name = text("HostConfig.Mounts.Source", entry.Source);
      if (name && !VOLUME_NAME.test(name)) throw badParameter(`invalid mount config for type "volume": invalid volume name ${describeValue(name)}`);
      const options = entry.VolumeOptions ?? {};
      if (Object.keys(stringMap("HostConfig.Mounts.VolumeOptions.Labels", options.Labels)).length) {
        throw badParameter("HostConfig.Mounts.VolumeOptions.Labels is not supported");
      }
      const driver = options.DriverConfig;
      if ((driver?.Name && driver.Name !== "local") || Object.keys(driver?.Options ?? {}).length) {
        throw badParameter("HostConfig.Mounts.VolumeOptions.DriverConfig is not supported");
      }
      if (options.NoCopy) flags.warn("Volume option nocopy is not supported: the volume is filled from the image as usual.");
      flags.repeat("mount", [["type=volume", ...(name ? [`source=${name}`] : []), `target=${to}`, ...readonly].join(",")]);
      return { target: to, volume: name || undefined };
    }
    case "tmpfs": {
      if (entry.Source) throw badParameter(`invalid mount config for type "tmpfs": source must not be specified`);
      const options = entry.TmpfsOptions ?? {};
      const size = options.SizeBytes ?? 0;
      const mode = options.Mode ?? 0;
      if (!Number.isSafeInteger(size) || size < 0) throw badParameter(`invalid tmpfs size: ${size}`);
      if (!Number.isSafeInteger(mode) || mode < 0 || mode > 0o7777) throw badParameter(`invalid tmpfs mode: ${mode}`);
      const extra = [...(size ? [`tmpfs-size=${size}`] : []), ...(mode ? [`tmpfs-mode=${mode.toString(8)}`] : [])];
      flags.repeat("mount", [["type=tmpfs", `target=${to}`, ...readonly, ...extra].join(",")]);
      return { target: to };
    }
    default:
      throw badParameter(`HostConfig.Mounts: mount type ${describeValue(type)} is not supported`);
  }
}

/** Tmpfs: `{"/run": "size=64m"}`. */
function tmpfs(flags: CreateFlags, map: Record<string, string>): string[] {
  return Object.entries(map).map(([path, options]) => {
    target(`--tmpfs ${path}`, path);
    if (/[\0\n]/.test(options)) throw badParameter(`invalid tmpfs options for ${path}`);
    flags.repeat("tmpfs", [options ? `${path}:${options}` : path]);
    return path;
  });
}

/** `container[:ro|rw]`. */
function volumesFrom(values: string[]): string[] {
  for (const value of values) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*(?::(?:ro|rw))?$/.test(value)) throw badParameter(`invalid volumes-from: ${describeValue(value)}`);
  }
  return values;
}

/** The mounts of a create body; returns the names of the volumes it uses (which nerdctl makes when missing). */
export function translateMounts(request: ContainerCreateRequest, flags: CreateFlags): string[] {
  const host = request.HostConfig ?? {};
  const driver = text("HostConfig.VolumeDriver", host.VolumeDriver);
  if (driver !== "" && driver !== "local") throw badParameter(`HostConfig.VolumeDriver ${describeValue(driver)} is not supported`);
  const mounted = [
    ...strings("HostConfig.Binds", host.Binds).map((spec) => bind(flags, spec)),
    ...objects<NonNullable<typeof host.Mounts>[number]>("HostConfig.Mounts", host.Mounts).map((entry) => mount(flags, entry)),
  ];
  const targets = new Set([...mounted.map((entry) => entry.target), ...tmpfs(flags, stringMap("HostConfig.Tmpfs", host.Tmpfs))]);
  if (targets.size < mounted.length + Object.keys(host.Tmpfs ?? {}).length) throw badParameter("Duplicate mount point");
  flags.repeat("volumes-from", volumesFrom(strings("HostConfig.VolumesFrom", host.VolumesFrom)));
  // Config.Volumes: an anonymous volume for each path nothing else is mounted on, as dockerd makes them.
  for (const path of Object.keys(request.Volumes ?? {})) {
    if (!targets.has(target(`Volumes ${path}`, path))) flags.repeat("volume", [path]);
  }
  return [...new Set(mounted.flatMap((entry) => entry.volume ?? []))];
}
