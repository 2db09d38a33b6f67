import type { NerdctlContainerInspect, NerdctlImageIdentity, NerdctlPortBinding } from "../nerdctl/container-types.ts";
import type {
  ContainerHealth,
  ContainerInspect,
  ContainerStateName,
  ContainerSummary,
  EndpointSettings,
  MountPoint,
  Port,
} from "./container-types.ts";
import { builtinNetworkId } from "./networks.ts";
import { dockerTime, humanDuration, isZeroTime, unixSeconds } from "./time.ts";
import { familiarize } from "../reference.ts";
import { readRecord, recordedCommand, recordedConfig, recordedHostConfig, type CreateRecord } from "./container-create-record.ts";

/** Labels nerdctl and containerd keep for themselves; dockerd shows only the user's and the image's. */
const INTERNAL_LABEL = /^(nerdctl\/|nerdctld\/|containerd\.io\/|io\.containerd\.)/;

export function userLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => !INTERNAL_LABEL.test(key)));
}

/**
 * A container's name. Those Kubernetes made through CRI have no nerdctl name:
 * they are named from their pod's labels, `k8s://namespace/pod/container`, and
 * a pod's sandbox (pause) container `k8s://namespace/pod`, as nerdctl ps does.
 */
export function containerName(container: NerdctlContainerInspect): string {
  if (container.Name) return container.Name;
  const labels = container.Config.Labels ?? {};
  const namespace = labels["io.kubernetes.pod.namespace"];
  const pod = labels["io.kubernetes.pod.name"];
  if (namespace && pod) {
    const name = labels["io.kubernetes.container.name"];
    return labels["io.cri-containerd.kind"] === "sandbox" || !name ? `k8s://${namespace}/${pod}` : `k8s://${namespace}/${pod}/${name}`;
  }
  return container.Id.slice(0, 12);
}

/**
 * Docker's one-word state. nerdctl leaves Status empty for a container never
 * started. Its Restarting flag only says a restart policy wants the container
 * running (it is set while it runs): a container is restarting when its task
 * has stopped and the policy will start it again, which nerdctl's Status says.
 */
export function stateName(container: NerdctlContainerInspect): ContainerStateName {
  const state = container.State;
  if (state.Paused) return "paused";
  if (state.Status === "restarting") return "restarting";
  if (state.Running) return "running";
  if (state.Status === "" || state.Status === "created") return "created";
  if (state.Status === "dead") return "dead";
  return "exited";
}

/**
 * State.Health as dockerd keeps it for a container with a health check: the
 * results nerdctl recorded, else "starting" while it runs and no check has
 * reported yet. None for a container without one (or with `NONE`).
 */
export function healthOf(container: NerdctlContainerInspect): ContainerHealth | undefined {
  const recorded = container.State.Health;
  if (recorded?.Status) {
    const status = (["none", "starting", "healthy", "unhealthy"] as const).find((known) => known === recorded.Status) ?? "starting";
    return { Status: status, FailingStreak: recorded.FailingStreak ?? 0, Log: recorded.Log ?? [] };
  }
  const test = container.Config.Healthcheck?.Test;
  if (!test?.length || test[0] === "NONE" || stateName(container) !== "running") return undefined;
  return { Status: "starting", FailingStreak: 0, Log: [] };
}

/** The STATUS column, worded as dockerd words it: "Up 5 minutes", "Exited (0) 2 hours ago", "Created", "Up 1 second (healthy)". */
export function statusText(container: NerdctlContainerInspect, now: number): string {
  const state = container.State;
  const since = (time: string) => humanDuration(Math.max(0, now - Date.parse(time)));
  const name = stateName(container);
  if (name === "paused") return `Up ${since(state.StartedAt)} (Paused)`;
  if (name === "restarting") return `Restarting (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
  if (name === "running") {
    const health = healthOf(container)?.Status;
    if (health === "starting") return `Up ${since(state.StartedAt)} (health: starting)`;
    return health && health !== "none" ? `Up ${since(state.StartedAt)} (${health})` : `Up ${since(state.StartedAt)}`;
  }
  if (name === "dead") return "Dead";
  if (isZeroTime(state.StartedAt)) return "Created";
  if (isZeroTime(state.FinishedAt)) return "";
  return `Exited (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
}

/**
 * The image as dockerd shows it (Config.Image, ps, events): as the client
 * named it at create (its record in the labels), else the engine's name for
 * it in its familiar form; empty when neither is known.
 */
export function configuredImage(labels: Record<string, string> | null | undefined, engineImage: string): string {
  const recorded = readRecord(labels)?.Config.Image;
  if (typeof recorded === "string" && recorded) return recorded;
  return engineImage ? familiarize(engineImage) : "";
}

/** Networks the container is on, by name: nerdctl records the names in a label, in interface order. */
export function networkNames(container: NerdctlContainerInspect): string[] {
  try {
    const names = JSON.parse(container.Config.Labels?.["nerdctl/networks"] ?? "[]") as unknown;
    return Array.isArray(names) ? names.filter((name): name is string => typeof name === "string") : [];
  } catch {
    return [];
  }
}

function emptyEndpoint(): EndpointSettings {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    NetworkID: "",
    EndpointID: "",
    Gateway: "",
    IPAddress: "",
    IPPrefixLen: 0,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    MacAddress: "",
    DriverOpts: null,
  };
}

/** Networks' ids by name, as the engine gave them (host and none have nerdctld's). */
export type NetworkIds = ReadonlyMap<string, string>;

function networkId(name: string, ids: NetworkIds): string {
  return ids.get(name) ?? (name === "host" || name === "none" ? builtinNetworkId(name) : "");
}

/** The container's networks by name; a stopped container stays on its networks, without addresses. */
function endpoints(container: NerdctlContainerInspect, ids: NetworkIds): Record<string, EndpointSettings> {
  const names = networkNames(container);
  const result: Record<string, EndpointSettings> = Object.fromEntries(names.map((name) => [name, { ...emptyEndpoint(), NetworkID: networkId(name, ids) }]));
  Object.entries(container.NetworkSettings?.Networks ?? {}).forEach(([key, endpoint], index) => {
    // nerdctl names endpoints it cannot attribute "unknown-eth<N>"; eth<N> is the N-th network.
    const ethIndex = Number(/eth(\d+)$/.exec(key)?.[1] ?? index);
    const name = key.startsWith("unknown-") ? (names[ethIndex] ?? key) : key;
    result[name] = {
      ...emptyEndpoint(),
      NetworkID: networkId(name, ids),
      IPAddress: endpoint.IPAddress,
      IPPrefixLen: endpoint.IPPrefixLen,
      GlobalIPv6Address: endpoint.GlobalIPv6Address,
      GlobalIPv6PrefixLen: endpoint.GlobalIPv6PrefixLen,
      MacAddress: endpoint.MacAddress,
    };
  });
  return result;
}

/** The process as dockerd shows it: the init in front of it (tini, mounted under /sbin) is not part of it. */
function processOf(container: NerdctlContainerInspect, record: CreateRecord | undefined): [string, string[]] {
  const args = container.Args ?? [];
  if (record?.HostConfig.Init === true && /^\/sbin\/[^/]+$/.test(container.Path) && args[0] === "--" && args.length > 1) return [args[1]!, args.slice(2)];
  return [container.Path, args];
}

function portBindings(container: NerdctlContainerInspect): Record<string, NerdctlPortBinding[] | null> {
  return container.NetworkSettings?.Ports ?? container.HostConfig.PortBindings ?? {};
}

/** `80/tcp: [{HostIp, HostPort}]` as the list entries `docker ps` prints as 0.0.0.0:8080->80/tcp. */
export function summaryPorts(container: NerdctlContainerInspect): Port[] {
  const ports: Port[] = [];
  for (const [key, bindings] of Object.entries(portBindings(container))) {
    const [number, protocol = "tcp"] = key.split("/");
    const base = { PrivatePort: Number(number), Type: protocol as Port["Type"] };
    if (!bindings?.length) ports.push(base);
    for (const binding of bindings ?? []) {
      ports.push({ IP: binding.HostIp || "0.0.0.0", ...base, PublicPort: Number(binding.HostPort) });
    }
  }
  return ports;
}

function mounts(container: NerdctlContainerInspect): MountPoint[] {
  return (container.Mounts ?? []).map((mount) => ({
    Type: mount.Type,
    ...(mount.Name ? { Name: mount.Name } : {}),
    Source: mount.Source,
    Destination: mount.Destination,
    ...(mount.Type === "volume" ? { Driver: mount.Driver || "local" } : {}),
    Mode: mount.Mode,
    RW: mount.RW,
    Propagation: mount.Propagation,
  }));
}

/**
 * nerdctl's HostConfig in Docker's terms, less what Docker leaves out rather
 * than printing empty: an unset cgroup namespace mode ("" is not one of
 * Docker's values) and unset numbers (null). What the client set and nerdctl
 * keeps nowhere, or in its own terms, is shown from the create record.
 */
function hostConfig(container: NerdctlContainerInspect, record: CreateRecord | undefined): Record<string, unknown> {
  const shown: Record<string, unknown> = Object.fromEntries(
    Object.entries(container.HostConfig).filter(
      ([key, value]) => !(key === "CgroupnsMode" && value === "") && !(key === "MemorySwappiness" && value === null),
    ),
  );
  const log = (container.HostConfig.LogConfig ?? {}) as { driver?: string; opts?: Record<string, string> | null };
  shown.LogConfig = { Type: log.driver || "json-file", Config: log.opts ?? {} };
  if (shown.Runtime === "io.containerd.runc.v2") shown.Runtime = "runc";
  return record ? { ...shown, ...recordedHostConfig(record, shown) } : shown;
}

/** The image's entrypoint, when the container's command starts with it, as Docker splits Path/Args. */
function splitCommand(container: NerdctlContainerInspect, image: NerdctlImageIdentity | undefined, record: CreateRecord | undefined) {
  if (record) return recordedCommand(record, image);
  const argv = [container.Path, ...(container.Args ?? [])];
  const entrypoint = image?.Config.Entrypoint ?? null;
  if (entrypoint?.length && entrypoint.every((word, i) => argv[i] === word)) {
    const cmd = argv.slice(entrypoint.length);
    return { entrypoint, cmd: cmd.length ? cmd : null };
  }
  return { entrypoint: null, cmd: argv };
}

/**
 * What a summary takes from the container's record alone, kept as long as the
 * record: the state replaces a container's record when the container changes,
 * and never changes one, so a listing builds this once per change rather than
 * once per request.
 */
interface RecordSummary {
  /** The summary with ImageID, Status and NetworkSettings still to fill (in place, so that Docker's field order holds). */
  fixed: ContainerSummary;
  networkNames: string[];
  /** The endpoints with the network ids they were last shown with, and those ids. */
  networks: Record<string, EndpointSettings>;
  networkIds: string;
}

const recordSummaries = new WeakMap<NerdctlContainerInspect, RecordSummary>();

function recordSummary(container: NerdctlContainerInspect, ids: NetworkIds): RecordSummary {
  const known = recordSummaries.get(container);
  if (known) return known;
  const networks = endpoints(container, ids);
  const summary: RecordSummary = {
    fixed: {
      Id: container.Id,
      Names: [`/${containerName(container)}`],
      Image: configuredImage(container.Config.Labels, container.Config.Image || container.Image),
      ImageID: "",
      Command: [container.Path, ...(container.Args ?? [])].join(" "),
      Created: unixSeconds(container.Created),
      Ports: summaryPorts(container),
      Labels: userLabels(container.Config.Labels),
      State: stateName(container),
      Status: "",
      HostConfig: { NetworkMode: container.HostConfig.NetworkMode || Object.keys(networks)[0] || "none" },
      NetworkSettings: { Networks: {} },
      Mounts: mounts(container),
    },
    networkNames: Object.keys(networks),
    networks,
    networkIds: networkIdsKey(Object.keys(networks), ids),
  };
  recordSummaries.set(container, summary);
  return summary;
}

function networkIdsKey(names: string[], ids: NetworkIds): string {
  return names.map((name) => networkId(name, ids)).join("\n");
}

/** The endpoints as the ids name their networks now: the kept ones while the ids are the same. */
function currentNetworks(summary: RecordSummary, ids: NetworkIds): Record<string, EndpointSettings> {
  const key = networkIdsKey(summary.networkNames, ids);
  if (key !== summary.networkIds) {
    summary.networks = Object.fromEntries(Object.entries(summary.networks).map(([name, endpoint]) => [name, { ...endpoint, NetworkID: networkId(name, ids) }]));
    summary.networkIds = key;
  }
  return summary.networks;
}

/** GET /containers/json's entry for a container (the parts shared between answers are never changed). */
export function toContainerSummary(
  container: NerdctlContainerInspect,
  image: NerdctlImageIdentity | undefined,
  now: number,
  networkIds: NetworkIds = new Map(),
): ContainerSummary {
  const summary = recordSummary(container, networkIds);
  return { ...summary.fixed, ImageID: image?.Id ?? "", Status: statusText(container, now), NetworkSettings: { Networks: currentNetworks(summary, networkIds) } };
}

export function toContainerInspect(
  container: NerdctlContainerInspect,
  image: NerdctlImageIdentity | undefined,
  networkIds: NetworkIds = new Map(),
): ContainerInspect {
  const state = container.State;
  const name = stateName(container);
  const record = readRecord(container.Config.Labels);
  const { entrypoint, cmd } = splitCommand(container, image, record);
  const networks = endpoints(container, networkIds);
  const primary = Object.values(networks)[0];
  const ports = portBindings(container);
  const config = container.Config;
  const [path, args] = processOf(container, record);
  const health = healthOf(container);
  return {
    Id: container.Id,
    Created: container.Created,
    Path: path,
    Args: args,
    State: {
      Status: name,
      // dockerd's task is running while it is paused, and counts as running while it restarts.
      Running: name === "running" || name === "paused" || name === "restarting",
      Paused: name === "paused",
      Restarting: name === "restarting",
      OOMKilled: false,
      Dead: name === "dead",
      Pid: state.Pid,
      ExitCode: state.ExitCode,
      Error: state.Error,
      StartedAt: dockerTime(state.StartedAt),
      FinishedAt: dockerTime(state.FinishedAt),
      ...(health ? { Health: health } : {}),
    },
    Image: image?.Id ?? "",
    ResolvConfPath: container.ResolvConfPath,
    HostnamePath: container.HostnamePath,
    HostsPath: container.HostsPath,
    LogPath: container.LogPath,
    Name: `/${containerName(container)}`,
    RestartCount: container.RestartCount,
    Driver: container.Driver,
    Platform: container.Platform,
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: container.AppArmorProfile,
    ExecIDs: null,
    HostConfig: hostConfig(container, record),
    GraphDriver: { Name: container.Driver, Data: {} },
    Mounts: mounts(container),
    Config: {
      Hostname: config.Hostname,
      Domainname: config.Domainname ?? "",
      User: config.User ?? "",
      AttachStdin: config.AttachStdin,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: Object.keys(ports).length ? Object.fromEntries(Object.keys(ports).map((port) => [port, {}])) : undefined,
      Tty: config.Tty ?? false,
      OpenStdin: config.OpenStdin ?? false,
      StdinOnce: false,
      Env: config.Env ?? [],
      Cmd: cmd,
      Image: configuredImage(container.Config.Labels, container.Config.Image || container.Image),
      Volumes: null,
      WorkingDir: config.WorkingDir ?? "",
      Entrypoint: entrypoint,
      OnBuild: null,
      Labels: userLabels(config.Labels),
      StopSignal: config.Labels?.["io.containerd.image.config.stop-signal"],
      ...(config.Healthcheck ? { Healthcheck: config.Healthcheck } : {}),
      ...(record ? recordedConfig(record, config, image) : {}),
    },
    NetworkSettings: {
      Bridge: "",
      SandboxID: "",
      HairpinMode: false,
      LinkLocalIPv6Address: "",
      LinkLocalIPv6PrefixLen: 0,
      Ports: ports,
      SandboxKey: "",
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: "",
      Gateway: "",
      GlobalIPv6Address: primary?.GlobalIPv6Address ?? "",
      GlobalIPv6PrefixLen: primary?.GlobalIPv6PrefixLen ?? 0,
      IPAddress: primary?.IPAddress ?? "",
      IPPrefixLen: primary?.IPPrefixLen ?? 0,
      IPv6Gateway: "",
      MacAddress: primary?.MacAddress ?? "",
      Networks: networks,
    },
  };
}
