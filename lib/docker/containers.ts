import { type ContainerSize, type ContainerSnapshot } from "../nerdctl/containers.ts";
import type { NerdctlContainerInspect, NerdctlImageIdentity, NerdctlPortBinding } from "../nerdctl/container-types.ts";
import type {
  ContainerInspect,
  ContainerStateName,
  ContainerSummary,
  EndpointSettings,
  MountPoint,
  Port,
} from "./container-types.ts";
import { badParameter, notFound } from "../errors.ts";
import { noneOfLabels, parseFilterTime, type Filters } from "./filters.ts";
import { dockerTime, humanDuration, isZeroTime, unixSeconds } from "./time.ts";
import { familiarize } from "../reference.ts";

/** Labels nerdctl and containerd keep for themselves; dockerd shows only the user's and the image's. */
const INTERNAL_LABEL = /^(nerdctl\/|containerd\.io\/|io\.containerd\.)/;

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

/** Docker's one-word state. nerdctl leaves Status empty for a container never started. */
export function stateName(container: NerdctlContainerInspect): ContainerStateName {
  const state = container.State;
  if (state.Paused) return "paused";
  if (state.Restarting) return "restarting";
  if (state.Running) return "running";
  if (state.Status === "" || state.Status === "created") return "created";
  if (state.Status === "dead") return "dead";
  return "exited";
}

/** The STATUS column, worded as dockerd words it: "Up 5 minutes", "Exited (0) 2 hours ago", "Created". */
export function statusText(container: NerdctlContainerInspect, now: number): string {
  const state = container.State;
  const since = (time: string) => humanDuration(Math.max(0, now - Date.parse(time)));
  if (state.Running && state.Paused) return `Up ${since(state.StartedAt)} (Paused)`;
  if (state.Restarting) return `Restarting (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
  if (state.Running) return `Up ${since(state.StartedAt)}`;
  if (stateName(container) === "dead") return "Dead";
  if (isZeroTime(state.StartedAt)) return "Created";
  if (isZeroTime(state.FinishedAt)) return "";
  return `Exited (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
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

/** The container's networks by name; a stopped container stays on its networks, without addresses. */
function endpoints(container: NerdctlContainerInspect): Record<string, EndpointSettings> {
  const names = networkNames(container);
  const result: Record<string, EndpointSettings> = Object.fromEntries(names.map((name) => [name, emptyEndpoint()]));
  Object.entries(container.NetworkSettings?.Networks ?? {}).forEach(([key, endpoint], index) => {
    // nerdctl names endpoints it cannot attribute "unknown-eth<N>"; eth<N> is the N-th network.
    const ethIndex = Number(/eth(\d+)$/.exec(key)?.[1] ?? index);
    const name = key.startsWith("unknown-") ? (names[ethIndex] ?? key) : key;
    result[name] = {
      ...emptyEndpoint(),
      IPAddress: endpoint.IPAddress,
      IPPrefixLen: endpoint.IPPrefixLen,
      GlobalIPv6Address: endpoint.GlobalIPv6Address,
      GlobalIPv6PrefixLen: endpoint.GlobalIPv6PrefixLen,
      MacAddress: endpoint.MacAddress,
    };
  });
  return result;
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
 * nerdctl's HostConfig, less what Docker leaves out rather than printing
 * empty: an unset cgroup namespace mode ("" is not one of Docker's values) and
 * unset numbers (null).
 */
function hostConfig(container: NerdctlContainerInspect): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(container.HostConfig).filter(
      ([key, value]) => !(key === "CgroupnsMode" && value === "") && !(key === "MemorySwappiness" && value === null),
    ),
  );
}

/** The image's entrypoint, when the container's command starts with it, as Docker splits Path/Args. */
function splitCommand(container: NerdctlContainerInspect, image: NerdctlImageIdentity | undefined) {
  const argv = [container.Path, ...(container.Args ?? [])];
  const entrypoint = image?.Config.Entrypoint ?? null;
  if (entrypoint?.length && entrypoint.every((word, i) => argv[i] === word)) {
    const cmd = argv.slice(entrypoint.length);
    return { entrypoint, cmd: cmd.length ? cmd : null };
  }
  return { entrypoint: null, cmd: argv };
}

export function toContainerSummary(
  container: NerdctlContainerInspect,
  image: NerdctlImageIdentity | undefined,
  now: number,
): ContainerSummary {
  const networks = endpoints(container);
  return {
    Id: container.Id,
    Names: [`/${containerName(container)}`],
    Image: familiarize(container.Config.Image || container.Image),
    ImageID: image?.Id ?? "",
    Command: [container.Path, ...(container.Args ?? [])].join(" "),
    Created: unixSeconds(container.Created),
    Ports: summaryPorts(container),
    Labels: userLabels(container.Config.Labels),
    State: stateName(container),
    Status: statusText(container, now),
    HostConfig: { NetworkMode: container.HostConfig.NetworkMode || Object.keys(networks)[0] || "none" },
    NetworkSettings: { Networks: networks },
    Mounts: mounts(container),
  };
}

export function toContainerInspect(container: NerdctlContainerInspect, image: NerdctlImageIdentity | undefined): ContainerInspect {
  const state = container.State;
  const name = stateName(container);
  const { entrypoint, cmd } = splitCommand(container, image);
  const networks = endpoints(container);
  const primary = Object.values(networks)[0];
  const ports = portBindings(container);
  const config = container.Config;
  return {
    Id: container.Id,
    Created: container.Created,
    Path: container.Path,
    Args: container.Args ?? [],
    State: {
      Status: name,
      Running: state.Running,
      Paused: state.Paused,
      Restarting: state.Restarting,
      OOMKilled: false,
      Dead: name === "dead",
      Pid: state.Pid,
      ExitCode: state.ExitCode,
      Error: state.Error,
      StartedAt: dockerTime(state.StartedAt),
      FinishedAt: dockerTime(state.FinishedAt),
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
    HostConfig: hostConfig(container),
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
      Image: familiarize(config.Image || container.Image),
      Volumes: null,
      WorkingDir: config.WorkingDir ?? "",
      Entrypoint: entrypoint,
      OnBuild: null,
      Labels: userLabels(config.Labels),
      StopSignal: config.Labels?.["io.containerd.image.config.stop-signal"],
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

/**
 * `nerdctl top`'s table as Docker's {Titles, Processes}. Columns are aligned
 * under their titles (a tab writer), so each row is cut at the titles' offsets;
 * the last column (the command) keeps its spaces.
 */
export function toTopResponse(table: string): { Titles: string[]; Processes: string[][] } {
  const [header = "", ...rows] = table.split("\n").filter((line) => line.trim() !== "");
  const starts = [...header.matchAll(/\S+/g)].map((match) => match.index);
  const titles = [...header.matchAll(/\S+/g)].map((match) => match[0]);
  const processes = rows.map((row) =>
    starts.map((start, i) => row.slice(start, i + 1 < starts.length ? starts[i + 1] : undefined).trim()),
  );
  return { Titles: titles, Processes: processes };
}

export const CONTAINER_FILTERS = ["id", "name", "label", "status", "ancestor", "before", "since", "exited", "network", "volume"] as const;
const STATES: readonly string[] = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

/** Whether a container's image is the one `ancestor=` names (by name, full or familiar, or by id). */
function isAncestor(wanted: string, container: NerdctlContainerInspect, imageId: string): boolean {
  const reference = container.Config.Image || container.Image;
  const withTag = (name: string) => (/:[\w][\w.-]*$/.test(name.split("/").at(-1)!) || name.includes("@") ? name : `${name}:latest`);
  if (familiarize(withTag(wanted)) === familiarize(withTag(reference))) return true;
  const id = imageId.replace(/^sha256:/, "");
  const wantedId = wanted.replace(/^sha256:/, "");
  return id !== "" && /^[0-9a-f]{4,64}$/.test(wantedId) && id.startsWith(wantedId);
}

/**
 * GET /containers/json filters, with dockerd's meanings. `before`/`since`
 * name a container (by name or id) among all of them.
 */
export function filterContainers(
  containers: NerdctlContainerInspect[],
  summaries: ContainerSummary[],
  filters: Filters,
): ContainerSummary[] {
  for (const status of filters.values("status")) {
    if (!STATES.includes(status)) throw badParameter(`invalid filter 'status=${status}'`);
  }
  const exitCodes = filters.values("exited").map((value) => {
    if (!/^-?\d+$/.test(value)) throw badParameter(`invalid filter 'exited=${value}'`);
    return Number(value);
  });
  const createdOf = (ref: string) => {
    const found = containers.find((c) => c.Name === ref.replace(/^\//, "") || c.Id.startsWith(ref));
    if (!found) throw notFound(`No such container: ${ref}`);
    return Date.parse(found.Created);
  };
  const before = filters.values("before").map(createdOf);
  const since = filters.values("since").map(createdOf);

  return summaries.filter((summary, index) => {
    const container = containers[index]!;
    const created = Date.parse(container.Created);
    const networks = Object.keys(summary.NetworkSettings.Networks);
    return (
      filters.match("id", summary.Id) &&
      filters.match("name", summary.Names[0]!) &&
      filters.matchLabels(summary.Labels) &&
      filters.exactMatch("status", summary.State) &&
      (!filters.has("ancestor") || filters.values("ancestor").some((wanted) => isAncestor(wanted, container, summary.ImageID))) &&
      before.every((time) => created < time) &&
      since.every((time) => created > time) &&
      (exitCodes.length === 0 || (summary.State === "exited" && exitCodes.includes(container.State.ExitCode))) &&
      (!filters.has("network") || filters.values("network").some((network) => networks.includes(network))) &&
      (!filters.has("volume") ||
        filters.values("volume").some((volume) => summary.Mounts.some((mount) => mount.Name === volume || mount.Destination === volume)))
    );
  });
}

/**
 * GET /containers/json from a snapshot of all containers: running ones only
 * unless `all` or a status filter says otherwise, filtered, newest first, at
 * most `limit`.
 */
export function selectContainers(
  snapshot: ContainerSnapshot,
  options: { all: boolean; limit: number; filters: Filters; sizes?: Map<string, ContainerSize> },
  now: number,
): ContainerSummary[] {
  const { containers, images } = snapshot;
  const summaries = containers.map((container) => {
    const summary = toContainerSummary(container, images.get(container.Image), now);
    const size = options.sizes?.get(container.Id);
    return options.sizes ? { ...summary, SizeRw: size?.rw ?? 0, SizeRootFs: size?.rootFs ?? 0 } : summary;
  });
  const everything = options.all || options.filters.has("status");
  const selected = filterContainers(containers, summaries, options.filters)
    .filter((summary) => everything || summary.State === "running")
    .sort((a, b) => b.Created - a.Created);
  return options.limit > 0 ? selected.slice(0, options.limit) : selected;
}

/** `nerdctl diff` lines as Docker's changes: Kind 0 modified, 1 added, 2 deleted. The root itself is not a change. */
export function toChanges(text: string): { Path: string; Kind: 0 | 1 | 2 }[] {
  const kinds = { C: 0, A: 1, D: 2 } as const;
  return text
    .split("\n")
    .map((line) => /^([ACD]) (.+)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && match[2] !== "/")
    .map((match) => ({ Path: match[2]!, Kind: kinds[match[1] as keyof typeof kinds] }));
}

export const CONTAINER_PRUNE_FILTERS = ["until", "label", "label!"] as const;

/** What POST /containers/prune removes: stopped containers (exited, created, dead) matching the filters. */
export function containerPruneCandidates(containers: NerdctlContainerInspect[], filters: Filters, now: number): NerdctlContainerInspect[] {
  const untils = filters.values("until").map((value) => parseFilterTime(value, now));
  return containers.filter((container) => {
    const labels = userLabels(container.Config.Labels);
    const state = stateName(container);
    return (
      (state === "exited" || state === "created" || state === "dead") &&
      filters.matchLabels(labels) &&
      noneOfLabels(filters, labels) &&
      untils.every((until) => Date.parse(container.Created) < until)
    );
  });
}
