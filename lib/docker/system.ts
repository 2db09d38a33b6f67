import os from "node:os";
import type { HostFacts } from "../host/facts.ts";
import type { EngineReport } from "../nerdctl/system.ts";
import type { NerdctlComponent, NerdctlContainerLine, NerdctlVersion } from "../nerdctl/types.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { stateName } from "./containers.ts";
import type { Commit, ComponentVersion, SystemInfo, SystemVersion } from "./types.ts";

/** What the daemon knows about itself, as opposed to what the engine reports. */
export interface DaemonFacts {
  version: string;
  gitCommit: string;
  apiVersion: string;
  minApiVersion: string;
  debug: boolean;
  /** Where the engine keeps its data (Docker's DockerRootDir). */
  rootDir: string;
  eventListeners: number;
  /** Extra environment the engine runs with (proxies are reported from it). */
  env: NodeJS.ProcessEnv;
}

const DOCKER_HUB_INDEX = "https://index.docker.io/v1/";

function component(components: NerdctlComponent[] | undefined, name: string): NerdctlComponent | undefined {
  return components?.find((candidate) => candidate.Name === name);
}

function commitOf(found: NerdctlComponent | undefined): string {
  return found?.Details?.GitCommit ?? "";
}

/** `docker info` prints these as "containerd version: …"; a build without a commit still has a version. */
function commitOrVersion(found: NerdctlComponent | undefined): Commit {
  const id = commitOf(found) || found?.Version || "";
  return { ID: id, Expected: id };
}

/** GET /version: the daemon as the Engine component, then the engine's parts. */
export function toSystemVersion(nerdctl: NerdctlVersion, daemon: DaemonFacts): SystemVersion {
  const arch = goArch(process.arch);
  const components: ComponentVersion[] = [
    {
      Name: "Engine",
      Version: daemon.version,
      Details: {
        ApiVersion: daemon.apiVersion,
        Arch: arch,
        BuildTime: "",
        Experimental: "false",
        GitCommit: daemon.gitCommit,
        GoVersion: `node ${process.version}`,
        KernelVersion: os.release(),
        MinAPIVersion: daemon.minApiVersion,
        Os: "linux",
      },
    },
  ];
  for (const part of nerdctl.Server?.Components ?? []) {
    components.push({ Name: part.Name, Version: part.Version, Details: { GitCommit: commitOf(part) } });
  }
  const buildctl = component(nerdctl.Client.Components, "buildctl");
  if (buildctl) components.push({ Name: "buildkit", Version: buildctl.Version, Details: { GitCommit: commitOf(buildctl) } });
  components.push({
    Name: "nerdctl",
    Version: nerdctl.Client.Version,
    Details: { GitCommit: nerdctl.Client.GitCommit, GoVersion: nerdctl.Client.GoVersion },
  });
  return {
    Platform: { Name: `nerdctld ${daemon.version} (containerd)` },
    Components: components,
    Version: daemon.version,
    ApiVersion: daemon.apiVersion,
    MinAPIVersion: daemon.minApiVersion,
    GitCommit: daemon.gitCommit,
    GoVersion: `node ${process.version}`,
    Os: "linux",
    Arch: arch,
    KernelVersion: os.release(),
    BuildTime: "",
  };
}

export interface ContainerCounts {
  running: number;
  paused: number;
  stopped: number;
}

/** Running, paused and stopped, from the status words nerdctl prints ("Up 3 minutes (Paused)", "Exited (0) …"). */
export function countContainers(containers: NerdctlContainerLine[]): ContainerCounts {
  const counts = { running: 0, paused: 0, stopped: 0 };
  for (const { Status } of containers) {
    if (/paused/i.test(Status)) counts.paused += 1;
    else if (/^(up|restarting)/i.test(Status)) counts.running += 1;
    else counts.stopped += 1;
  }
  return counts;
}

/** Running, paused and stopped, from the containers' inspections. */
export function countStates(containers: NerdctlContainerInspect[]): ContainerCounts {
  const counts = { running: 0, paused: 0, stopped: 0 };
  for (const container of containers) {
    const state = stateName(container);
    if (state === "paused") counts.paused += 1;
    else if (state === "running" || state === "restarting") counts.running += 1;
    else counts.stopped += 1;
  }
  return counts;
}

/** GET /info: nerdctl's host report with Docker's counts and the fields only a daemon has. */
/** The namespace's objects as GET /info counts them: containers by state, and images (not tags: one image under three tags is one). */
export interface ObjectCounts {
  containers: ContainerCounts;
  images: number;
}

export function toSystemInfo(engine: EngineReport, objects: ObjectCounts, daemon: DaemonFacts, host: HostFacts): SystemInfo {
  const { info, version } = engine;
  const counts = objects.containers;
  const imageCount = objects.images;
  const containerd = component(version.Server?.Components, "containerd");
  const runc = component(version.Server?.Components, "runc");
  const env = daemon.env;
  return {
    ID: info.ID,
    Containers: counts.running + counts.paused + counts.stopped,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: imageCount,
    Driver: info.Driver,
    DriverStatus: [],
    DockerRootDir: daemon.rootDir,
    Plugins: {
      Volume: ["local"],
      Network: ["bridge", "host", "ipvlan", "macvlan", "none"],
      Authorization: [],
      Log: info.Plugins.Log ?? [],
    },
    MemoryLimit: info.MemoryLimit,
    SwapLimit: info.SwapLimit,
    KernelMemoryTCP: false,
    CpuCfsPeriod: info.CpuCfsPeriod,
    CpuCfsQuota: info.CpuCfsQuota,
    CPUShares: info.CPUShares,
    CPUSet: info.CPUSet,
    PidsLimit: info.PidsLimit,
    OomKillDisable: info.OomKillDisable,
    IPv4Forwarding: info.IPv4Forwarding,
    BridgeNfIptables: info.BridgeNfIptables,
    BridgeNfIp6tables: info.BridgeNfIp6tables,
    Debug: daemon.debug,
    NFd: host.openFds,
    // Node has no goroutines; its live handles and requests are the nearest measure of the same thing.
    NGoroutines: host.activeResources,
    SystemTime: info.SystemTime,
    LoggingDriver: info.LoggingDriver,
    CgroupDriver: info.CgroupDriver,
    CgroupVersion: info.CgroupVersion,
    NEventsListener: daemon.eventListeners,
    KernelVersion: info.KernelVersion,
    OperatingSystem: info.OperatingSystem,
    OSVersion: host.osVersion,
    OSType: info.OSType,
    Architecture: info.Architecture,
    NCPU: info.NCPU,
    MemTotal: info.MemTotal,
    IndexServerAddress: DOCKER_HUB_INDEX,
    RegistryConfig: {
      AllowNondistributableArtifactsCIDRs: [],
      AllowNondistributableArtifactsHostnames: [],
      // nerdctl, like dockerd, talks plain HTTP to registries on loopback.
      InsecureRegistryCIDRs: ["127.0.0.0/8"],
      IndexConfigs: { "docker.io": { Name: "docker.io", Mirrors: [], Secure: true, Official: true } },
      Mirrors: [],
    },
    GenericResources: [],
    HttpProxy: env.HTTP_PROXY ?? env.http_proxy ?? "",
    HttpsProxy: env.HTTPS_PROXY ?? env.https_proxy ?? "",
    NoProxy: env.NO_PROXY ?? env.no_proxy ?? "",
    Name: info.Name,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: daemon.version,
    Runtimes: { "io.containerd.runc.v2": { path: "runc" }, runc: { path: "runc" } },
    DefaultRuntime: "runc",
    Swarm: { NodeID: "", NodeAddr: "", LocalNodeState: "inactive", ControlAvailable: false, Error: "", RemoteManagers: [] },
    LiveRestoreEnabled: false,
    Isolation: "",
    InitBinary: "",
    ContainerdCommit: commitOrVersion(containerd),
    RuncCommit: commitOrVersion(runc),
    InitCommit: { ID: "", Expected: "" },
    SecurityOptions: info.SecurityOptions ?? [],
    DefaultAddressPools: [],
    Warnings: info.Warnings ?? [],
  };
}

/** Node's architecture names to Go's, which Docker clients print. */
function goArch(arch: string): string {
  return ({ x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[arch] ?? arch;
}
