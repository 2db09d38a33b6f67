/** Docker Engine API v1.43 container documents (ContainerSummary, ContainerInspectResponse). */

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: "tcp" | "udp" | "sctp";
}

export interface MountPoint {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface EndpointSettings {
  IPAMConfig: null;
  Links: null;
  Aliases: string[] | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  DriverOpts: null;
}

export type ContainerStateName = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: ContainerStateName;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, EndpointSettings> };
  Mounts: MountPoint[];
}

export interface ContainerState {
  Status: ContainerStateName;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: ContainerHealth;
}

export interface ContainerHealth {
  Status: "none" | "starting" | "healthy" | "unhealthy";
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number | null;
  Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  ArgsEscaped?: boolean;
  Shell?: string[] | null;
  MacAddress?: string;
  NetworkDisabled?: boolean;
}

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: Record<string, unknown>;
  GraphDriver: { Name: string; Data: Record<string, string> };
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: {
    Bridge: string;
    SandboxID: string;
    HairpinMode: boolean;
    LinkLocalIPv6Address: string;
    LinkLocalIPv6PrefixLen: number;
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
    SandboxKey: string;
    SecondaryIPAddresses: null;
    SecondaryIPv6Addresses: null;
    EndpointID: string;
    Gateway: string;
    GlobalIPv6Address: string;
    GlobalIPv6PrefixLen: number;
    IPAddress: string;
    IPPrefixLen: number;
    IPv6Gateway: string;
    MacAddress: string;
    Networks: Record<string, EndpointSettings>;
  };
}

/** GET /containers/{id}/top. */
export interface ContainerTopResponse {
  Titles: string[];
  Processes: string[][];
}

/** One entry of GET /containers/{id}/changes: Kind 0 modified, 1 added, 2 deleted. */
export interface FilesystemChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** POST /containers/prune. */
export interface ContainerPruneResponse {
  ContainersDeleted: string[];
  SpaceReclaimed: number;
}

/** POST /containers/{id}/wait's answer. */
export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message: string };
}
