import { badParameter, describeValue } from "../errors.ts";
import { integer, keyValues, objects, stringMap, strings, text, type CreateFlags } from "./container-create-builder.ts";
import type { HostConfig } from "./container-create-types.ts";

/* HostConfig's resources, privileges, namespaces, restart policy, logging and runtime. */

const MIB = 1024 * 1024;

/** dockerd's limits on memory settings, with its messages. */
function memory(flags: CreateFlags, host: HostConfig): void {
  const limit = integer("HostConfig.Memory", host.Memory);
  const swap = integer("HostConfig.MemorySwap", host.MemorySwap);
  const reservation = integer("HostConfig.MemoryReservation", host.MemoryReservation);
  const swappiness = host.MemorySwappiness === null ? -1 : integer("HostConfig.MemorySwappiness", host.MemorySwappiness ?? -1);
  if (limit > 0 && limit < 6 * MIB) throw badParameter("Minimum memory limit allowed is 6MB");
  if (limit > 0 && swap > 0 && swap < limit) throw badParameter("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (limit === 0 && swap > 0) throw badParameter("You should always set the Memory limit when using Memoryswap limit, see usage");
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) throw badParameter(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  if (reservation > 0 && reservation < 6 * MIB) throw badParameter("Minimum memory reservation allowed is 6MB");
  if (limit > 0 && reservation > limit) throw badParameter("Minimum memory limit can not be less than memory reservation limit, see usage");
  if (limit > 0) flags.set("memory", limit);
  if (swap !== 0) flags.set("memory-swap", swap);
  if (reservation > 0) flags.set("memory-reservation", reservation);
  if (swappiness !== -1) flags.set("memory-swappiness", swappiness);
  if (host.OomKillDisable) {
    flags.on("oom-kill-disable");
    if (limit === 0) flags.warn("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.");
  }
}

function cpu(flags: CreateFlags, host: HostConfig): void {
  const nanoCpus = integer("HostConfig.NanoCpus", host.NanoCpus);
  const period = integer("HostConfig.CpuPeriod", host.CpuPeriod);
  const quota = integer("HostConfig.CpuQuota", host.CpuQuota);
  if (nanoCpus > 0 && period > 0) throw badParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nanoCpus > 0 && quota > 0) throw badParameter("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (nanoCpus < 0) throw badParameter("Range of CPUs is from 0.01 to the number of CPUs available");
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    throw badParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (quota > 0 && quota < 1000) throw badParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (nanoCpus > 0) flags.set("cpus", nanoCpus / 1e9);
  if (period > 0) flags.set("cpu-period", period);
  if (quota > 0) flags.set("cpu-quota", quota);
  const shares = integer("HostConfig.CpuShares", host.CpuShares);
  if (shares < 0) throw badParameter("shares: invalid argument");
  if (shares > 0) flags.set("cpu-shares", shares);
  const rtPeriod = integer("HostConfig.CpuRealtimePeriod", host.CpuRealtimePeriod);
  if (rtPeriod > 0) flags.set("cpu-rt-period", rtPeriod);
  const rtRuntime = integer("HostConfig.CpuRealtimeRuntime", host.CpuRealtimeRuntime);
  if (rtRuntime > 0) flags.set("cpu-rt-runtime", rtRuntime);
  for (const key of ["CpusetCpus", "CpusetMems"] as const) {
    const value = text(`HostConfig.${key}`, host[key]);
    if (value && !/^[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*$/.test(value)) throw badParameter(`Invalid value ${value} for cpuset ${key === "CpusetCpus" ? "cpus" : "mems"}`);
    if (value) flags.set(key === "CpusetCpus" ? "cpuset-cpus" : "cpuset-mems", value);
  }
}

function blkio(flags: CreateFlags, host: HostConfig): void {
  const weight = integer("HostConfig.BlkioWeight", host.BlkioWeight);
  if (weight > 0 && (weight < 10 || weight > 1000)) throw badParameter("Range of blkio weight is from 10 to 1000");
  if (weight > 0) flags.set("blkio-weight", weight);
  const devices = (field: string, list: { Path?: string; Rate?: number; Weight?: number }[] | null | undefined, key: "Rate" | "Weight") =>
    objects<{ Path?: string; Rate?: number; Weight?: number }>(field, list).map((device) => {
      const path = text(`${field}.Path`, device.Path);
      if (!path.startsWith("/")) throw badParameter(`${field}: invalid device path ${describeValue(path)}`);
      return `${path}:${integer(`${field}.${key}`, device[key])}`;
    });
  flags.repeat("blkio-weight-device", devices("HostConfig.BlkioWeightDevice", host.BlkioWeightDevice, "Weight"));
  flags.repeat("device-read-bps", devices("HostConfig.BlkioDeviceReadBps", host.BlkioDeviceReadBps, "Rate"));
  flags.repeat("device-write-bps", devices("HostConfig.BlkioDeviceWriteBps", host.BlkioDeviceWriteBps, "Rate"));
  flags.repeat("device-read-iops", devices("HostConfig.BlkioDeviceReadIOps", host.BlkioDeviceReadIOps, "Rate"));
  flags.repeat("device-write-iops", devices("HostConfig.BlkioDeviceWriteIOps", host.BlkioDeviceWriteIOps, "Rate"));
}

function devices(flags: CreateFlags, host: HostConfig): void {
  flags.list(
    "device",
    objects<NonNullable<HostConfig["Devices"]>[number]>("HostConfig.Devices", host.Devices).map((device) => {
      const onHost = text("HostConfig.Devices.PathOnHost", device.PathOnHost);
      const inContainer = text("HostConfig.Devices.PathInContainer", device.PathInContainer) || onHost;
      const permissions = text("HostConfig.Devices.CgroupPermissions", device.CgroupPermissions) || "rwm";
      if (!onHost.startsWith("/") || !inContainer.startsWith("/") || /:/.test(onHost + inContainer)) {
        throw badParameter(`invalid device mapping ${describeValue(`${onHost}:${inContainer}`)}`);
      }
      if (!/^[rwm]{1,3}$/.test(permissions)) throw badParameter(`invalid device mode: ${permissions}`);
      return `${onHost}:${inContainer}:${permissions}`;
    }),
  );
  flags.list(
    "ulimit",
    objects<NonNullable<HostConfig["Ulimits"]>[number]>("HostConfig.Ulimits", host.Ulimits).map((ulimit) => {
      const name = text("HostConfig.Ulimits.Name", ulimit.Name);
      if (!/^[a-z]+$/.test(name)) throw badParameter(`invalid ulimit type: ${name}`);
      const soft = integer("HostConfig.Ulimits.Soft", ulimit.Soft);
      const hard = integer("HostConfig.Ulimits.Hard", ulimit.Hard);
      if (soft > hard && hard !== -1) throw badParameter(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
      return `${name}=${soft}:${hard}`;
    }),
  );
  const pids = integer("HostConfig.PidsLimit", host.PidsLimit);
  // 0 and -1 (any negative, historically) both mean unlimited.
  if (pids > 0) flags.set("pids-limit", pids);
}

const CAPABILITIES = new Set(
  ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST " +
    "NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE " +
    "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM " +
    "BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE").split(" "),
);

/** Capabilities as dockerd normalises them (`net_raw` is CAP_NET_RAW), ALL kept as it is. */
function capabilities(field: "CapAdd" | "CapDrop", values: string[]): string[] {
  return values.map((value) => {
    const upper = value.toUpperCase();
    if (upper === "ALL") return "ALL";
    const name = upper.replace(/^CAP_/, "");
    if (!CAPABILITIES.has(name)) throw badParameter(`invalid ${field}: unknown capability: ${JSON.stringify(value)}`);
    return `CAP_${name}`;
  });
}

/** Docker's `key=value` or `key:value` security options, in nerdctl's `key=value` form. */
function securityOptions(values: string[]): string[] {
  return values.map((option) => {
    const match = /^([a-z-]+)(?:[=:](.*))?$/s.exec(option);
    const [key, value] = [match?.[1] ?? "", match?.[2]];
    switch (key) {
      case "no-new-privileges":
        if (value !== undefined && value !== "true" && value !== "false") throw badParameter(`invalid --security-opt 2: ${JSON.stringify(option)}`);
        return `no-new-privileges=${value ?? "true"}`;
      case "seccomp":
        // The docker CLI sends a profile's JSON; nerdctl would read the value as a path on the engine's host.
        if (value !== "unconfined") throw badParameter("HostConfig.SecurityOpt: a seccomp profile is not supported (only seccomp=unconfined)");
        return "seccomp=unconfined";
      case "apparmor":
        if (!value || !/^[\w.\-/]+$/.test(value)) throw badParameter(`invalid --security-opt 2: ${JSON.stringify(option)}`);
        return `apparmor=${value}`;
      case "label":
        if (!value || /[\0\n]/.test(value)) throw badParameter(`invalid --security-opt 2: ${JSON.stringify(option)}`);
        return `label=${value}`;
      case "systempaths":
        if (value !== "unconfined") throw badParameter(`invalid --security-opt 2: ${JSON.stringify(option)}`);
        return "systempaths=unconfined";
      case "privileged-without-host-devices":
      case "writable-cgroups":
        if (value !== undefined && value !== "true" && value !== "false") throw badParameter(`invalid --security-opt 2: ${JSON.stringify(option)}`);
        return `${key}=${value ?? "true"}`;
      default:
        throw badParameter(`invalid --security-opt 1: ${JSON.stringify(option)}`);
    }
  });
}

function security(flags: CreateFlags, host: HostConfig): void {
  flags.on("privileged", host.Privileged === true);
  flags.on("read-only", host.ReadonlyRootfs === true);
  flags.list("cap-add", capabilities("CapAdd", strings("HostConfig.CapAdd", host.CapAdd)));
  flags.list("cap-drop", capabilities("CapDrop", strings("HostConfig.CapDrop", host.CapDrop)));
  const options = securityOptions(strings("HostConfig.SecurityOpt", host.SecurityOpt));
  const masked = host.MaskedPaths === undefined || host.MaskedPaths === null ? undefined : strings("HostConfig.MaskedPaths", host.MaskedPaths);
  const readonly = host.ReadonlyPaths === undefined || host.ReadonlyPaths === null ? undefined : strings("HostConfig.ReadonlyPaths", host.ReadonlyPaths);
  // nerdctl can lift all masks at once (systempaths=unconfined), not choose them.
  if (masked?.length) throw badParameter("HostConfig.MaskedPaths is not supported");
  if (readonly?.length) throw badParameter("HostConfig.ReadonlyPaths is not supported");
  if (masked !== undefined || readonly !== undefined) {
    if (masked === undefined || readonly === undefined) throw badParameter("HostConfig.MaskedPaths and HostConfig.ReadonlyPaths are supported only both empty");
    if (!options.includes("systempaths=unconfined")) options.push("systempaths=unconfined");
  }
  flags.repeat("security-opt", options);
  flags.list("group-add", strings("HostConfig.GroupAdd", host.GroupAdd));
  const oomScore = integer("HostConfig.OomScoreAdj", host.OomScoreAdj);
  if (oomScore < -1000 || oomScore > 1000) throw badParameter(`Invalid value ${oomScore}, range for oom score adj is [-1000, 1000]`);
  if (oomScore !== 0) flags.set("oom-score-adj", oomScore);
}

/** A namespace mode: one of `modes`, or `container:<name>` where `container` is allowed. */
function namespaceMode(flags: CreateFlags, flag: "ipc" | "pid" | "uts" | "cgroupns", value: string, modes: string[], withContainer: boolean, what: string) {
  if (value === "") return;
  const container = /^container:(.+)$/.exec(value)?.[1];
  const valid = modes.includes(value) || (withContainer && container !== undefined && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(container));
  if (!valid) throw badParameter(`invalid ${what}: ${value}`);
  flags.set(flag, value);
}

function namespaces(flags: CreateFlags, host: HostConfig): void {
  const ipc = text("HostConfig.IpcMode", host.IpcMode);
  if (ipc === "none") throw badParameter("HostConfig.IpcMode none is not supported");
  namespaceMode(flags, "ipc", ipc, ["private", "shareable", "host"], true, "IPC mode");
  namespaceMode(flags, "pid", text("HostConfig.PidMode", host.PidMode), ["host"], true, "PID mode");
  namespaceMode(flags, "uts", text("HostConfig.UTSMode", host.UTSMode), ["host"], false, "UTS mode");
  namespaceMode(flags, "cgroupns", text("HostConfig.CgroupnsMode", host.CgroupnsMode), ["host", "private"], false, "cgroup namespace mode");
  const userns = text("HostConfig.UsernsMode", host.UsernsMode);
  if (userns !== "" && userns !== "host") throw badParameter("HostConfig.UsernsMode is not supported");
  if (userns === "host") flags.set("userns", "host");
  const isolation = text("HostConfig.Isolation", host.Isolation);
  if (isolation !== "" && isolation !== "default") throw badParameter(`invalid isolation '${isolation}' on linux`);
  const shm = integer("HostConfig.ShmSize", host.ShmSize);
  if (shm < 0) throw badParameter("SHM size can not be less than 0");
  if (shm > 0) flags.set("shm-size", shm);
  flags.repeat("sysctl", keyValues("HostConfig.Sysctls", stringMap("HostConfig.Sysctls", host.Sysctls)));
  const parent = text("HostConfig.CgroupParent", host.CgroupParent);
  if (parent) flags.set("cgroup-parent", parent);
}

function lifecycle(flags: CreateFlags, host: HostConfig): void {
  const policy = host.RestartPolicy ?? {};
  const name = text("HostConfig.RestartPolicy.Name", policy.Name);
  const retries = integer("HostConfig.RestartPolicy.MaximumRetryCount", policy.MaximumRetryCount);
  switch (name) {
    case "":
    case "no":
    case "always":
    case "unless-stopped":
      if (retries !== 0) throw badParameter(`maximum retry count cannot be used with restart policy '${name}'`);
      break;
    case "on-failure":
      if (retries < 0) throw badParameter("maximum retry count cannot be negative");
      break;
    default:
      throw badParameter(`invalid restart policy '${name}'`);
  }
  if (host.AutoRemove && name !== "" && name !== "no") throw badParameter("can't create 'AutoRemove' container with restart policy");
  if (name !== "" && name !== "no") flags.set("restart", retries > 0 ? `${name}:${retries}` : name);
  flags.on("rm", host.AutoRemove === true);
  flags.on("init", host.Init === true);
  const runtime = text("HostConfig.Runtime", host.Runtime);
  // A runtime is a name nerdctl resolves, never a path to some program of the host's.
  if (runtime && !/^[a-z0-9][a-z0-9._-]*$/i.test(runtime)) throw badParameter(`unknown or invalid runtime name: ${runtime}`);
  if (runtime && runtime !== "runc") flags.set("runtime", runtime);
}

/** The logging drivers nerdctl has; dockerd's `local` keeps its logs in json-file here. */
const LOG_DRIVERS = ["json-file", "journald", "fluentd", "syslog", "none"];

function logging(flags: CreateFlags, host: HostConfig): void {
  const driver = text("HostConfig.LogConfig.Type", host.LogConfig?.Type);
  const options = stringMap("HostConfig.LogConfig.Config", host.LogConfig?.Config);
  if (driver === "local") flags.warn("The local logging driver is not available: the container logs with json-file.");
  else if (driver !== "" && !LOG_DRIVERS.includes(driver)) throw badParameter(`HostConfig.LogConfig: logging driver ${describeValue(driver)} is not supported`);
  if (driver !== "" && driver !== "local" && driver !== "json-file") flags.set("log-driver", driver);
  flags.repeat("log-opt", keyValues("HostConfig.LogConfig.Config", options));
}

function annotations(flags: CreateFlags, host: HostConfig): void {
  const map = stringMap("HostConfig.Annotations", host.Annotations);
  // nerdctl's own annotations carry its state to its OCI hook; a client's must not replace them.
  for (const key of Object.keys(map)) if (key.startsWith("nerdctl/")) throw badParameter(`annotation ${describeValue(key)} is reserved for the engine`);
  flags.repeat("annotation", keyValues("HostConfig.Annotations", map));
}

export function translateHostConfig(host: HostConfig, flags: CreateFlags): void {
  memory(flags, host);
  cpu(flags, host);
  blkio(flags, host);
  devices(flags, host);
  security(flags, host);
  namespaces(flags, host);
  lifecycle(flags, host);
  logging(flags, host);
  annotations(flags, host);
}
