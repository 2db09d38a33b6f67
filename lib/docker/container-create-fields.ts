import { badParameter } from "../errors.ts";
import type { ContainerCreateRequest } from "./container-create-types.ts";

/*
 * What becomes of each field of a v1.43 create body, decided once here.
 *
 * - translated: becomes nerdctl create flags (container-create-config.ts,
 *   -host.ts, -mounts.ts, -network.ts), which refuse values nerdctl cannot honour;
 * - recorded: nerdctl has nothing for it, the container's inspect shows it as
 *   the client set it (container-create-record.ts), and nothing else depends on it;
 * - warned: harmless to leave out; the client gets a warning, as dockerd warns
 *   for what the host cannot do;
 * - refused: it matters for security or correctness and nerdctl cannot do it: 400.
 */

export type Handling = "translated" | "recorded" | { warn: string } | "refused";

export const FIELD_HANDLING: Readonly<Record<string, Handling>> = {
  Hostname: "translated",
  Domainname: "translated",
  User: "translated",
  AttachStdin: "recorded",
  AttachStdout: "recorded",
  AttachStderr: "recorded",
  ExposedPorts: "translated",
  Tty: "translated",
  OpenStdin: "recorded",
  StdinOnce: "recorded",
  Env: "translated",
  Cmd: "translated",
  Healthcheck: "translated",
  ArgsEscaped: "recorded",
  Image: "translated",
  Volumes: "translated",
  WorkingDir: "translated",
  Entrypoint: "translated",
  NetworkDisabled: "translated",
  MacAddress: "translated",
  OnBuild: "recorded",
  Labels: "translated",
  StopSignal: "translated",
  StopTimeout: "translated",
  Shell: "recorded",

  "HostConfig.CpuShares": "translated",
  "HostConfig.Memory": "translated",
  "HostConfig.CgroupParent": "translated",
  "HostConfig.BlkioWeight": "translated",
  "HostConfig.BlkioWeightDevice": "translated",
  "HostConfig.BlkioDeviceReadBps": "translated",
  "HostConfig.BlkioDeviceWriteBps": "translated",
  "HostConfig.BlkioDeviceReadIOps": "translated",
  "HostConfig.BlkioDeviceWriteIOps": "translated",
  "HostConfig.CpuPeriod": "translated",
  "HostConfig.CpuQuota": "translated",
  "HostConfig.CpuRealtimePeriod": "translated",
  "HostConfig.CpuRealtimeRuntime": "translated",
  "HostConfig.CpusetCpus": "translated",
  "HostConfig.CpusetMems": "translated",
  "HostConfig.Devices": "translated",
  "HostConfig.DeviceCgroupRules": "refused",
  "HostConfig.DeviceRequests": "refused",
  "HostConfig.KernelMemoryTCP": "refused",
  "HostConfig.MemoryReservation": "translated",
  "HostConfig.MemorySwap": "translated",
  "HostConfig.MemorySwappiness": "translated",
  "HostConfig.NanoCpus": "translated",
  "HostConfig.OomKillDisable": "translated",
  "HostConfig.Init": "translated",
  "HostConfig.PidsLimit": "translated",
  "HostConfig.Ulimits": "translated",
  "HostConfig.CpuCount": { warn: "linux does not support CPU count. Count discarded." },
  "HostConfig.CpuPercent": { warn: "linux does not support CPU percent. Percent discarded." },
  "HostConfig.IOMaximumIOps": "refused",
  "HostConfig.IOMaximumBandwidth": "refused",
  "HostConfig.Binds": "translated",
  // The docker CLI writes the file itself; dockerd only shows the path.
  "HostConfig.ContainerIDFile": "recorded",
  "HostConfig.LogConfig": "translated",
  "HostConfig.NetworkMode": "translated",
  "HostConfig.PortBindings": "translated",
  "HostConfig.RestartPolicy": "translated",
  "HostConfig.AutoRemove": "translated",
  "HostConfig.VolumeDriver": "translated",
  "HostConfig.VolumesFrom": "translated",
  "HostConfig.Mounts": "translated",
  // The size of the terminal a client attaches with, for whoever starts the container.
  "HostConfig.ConsoleSize": "recorded",
  "HostConfig.Annotations": "translated",
  "HostConfig.CapAdd": "translated",
  "HostConfig.CapDrop": "translated",
  "HostConfig.CgroupnsMode": "translated",
  "HostConfig.Dns": "translated",
  "HostConfig.DnsOptions": "translated",
  "HostConfig.DnsSearch": "translated",
  "HostConfig.ExtraHosts": "translated",
  "HostConfig.GroupAdd": "translated",
  "HostConfig.IpcMode": "translated",
  "HostConfig.Cgroup": "refused",
  "HostConfig.Links": { warn: "Links are not supported: the linked containers' names are not added to /etc/hosts." },
  "HostConfig.OomScoreAdj": "translated",
  "HostConfig.PidMode": "translated",
  "HostConfig.Privileged": "translated",
  "HostConfig.PublishAllPorts": "translated",
  "HostConfig.ReadonlyRootfs": "translated",
  "HostConfig.SecurityOpt": "translated",
  "HostConfig.StorageOpt": "refused",
  "HostConfig.Tmpfs": "translated",
  "HostConfig.UTSMode": "translated",
  "HostConfig.UsernsMode": "translated",
  "HostConfig.ShmSize": "translated",
  "HostConfig.Sysctls": "translated",
  "HostConfig.Runtime": "translated",
  "HostConfig.Isolation": "translated",
  "HostConfig.MaskedPaths": "translated",
  "HostConfig.ReadonlyPaths": "translated",

  "NetworkingConfig.EndpointsConfig": "translated",
  "EndpointSettings.IPAMConfig": "translated",
  "EndpointSettings.MacAddress": "translated",
  "EndpointSettings.Aliases": "translated",
  "EndpointSettings.Links": { warn: "Links are not supported: the linked containers' names are not added to /etc/hosts." },
  "EndpointSettings.DriverOpts": { warn: "Endpoint driver options are not supported and were discarded." },
  // What dockerd fills in itself; a client echoing an inspect back sends them.
  "EndpointSettings.NetworkID": "recorded",
  "EndpointSettings.EndpointID": "recorded",
  "EndpointSettings.Gateway": "recorded",
  "EndpointSettings.IPAddress": "recorded",
  "EndpointSettings.IPPrefixLen": "recorded",
  "EndpointSettings.IPv6Gateway": "recorded",
  "EndpointSettings.GlobalIPv6Address": "recorded",
  "EndpointSettings.GlobalIPv6PrefixLen": "recorded",
};

/** Whether a client set a field: Go's zero values (and an empty list or map) are not a setting. */
export function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0 && !value.every((item) => item === 0);
  if (typeof value === "object") return Object.values(value).some(isSet);
  return true;
}

/** Walks the body's fields against the table: refused ones are a 400 naming the field, warned ones a warning each. */
export function checkFields(request: ContainerCreateRequest): string[] {
  const warnings = new Set<string>();
  const visit = (prefix: string, fields: object | null | undefined) => {
    for (const [key, value] of Object.entries(fields ?? {})) {
      const handling = FIELD_HANDLING[`${prefix}${key}`];
      if (handling === undefined || !isSet(value)) continue;
      if (handling === "refused") throw badParameter(`${prefix}${key} is not supported`);
      if (typeof handling === "object") warnings.add(handling.warn);
    }
  };
  visit("", request);
  visit("HostConfig.", request.HostConfig);
  for (const endpoint of Object.values(request.NetworkingConfig?.EndpointsConfig ?? {})) visit("EndpointSettings.", endpoint);
  return [...warnings];
}
