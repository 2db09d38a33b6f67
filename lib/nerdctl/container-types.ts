/** What `nerdctl container inspect` prints (its Docker-compatible mode), as far as nerdctld reads it. */

export interface NerdctlPortBinding {
  HostIp: string;
  HostPort: string;
}

export interface NerdctlMount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface NerdctlEndpoint {
  IPAddress: string;
  IPPrefixLen: number;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
}

export interface NerdctlContainerState {
  /** "" for a container that was never started. */
  Status: string;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** The health check's results, once `nerdctl container healthcheck` (or its timer) has run one. */
  Health?: NerdctlHealth | null;
}

export interface NerdctlHealth {
  Status: string;
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[] | null;
}

export interface NerdctlContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[] | null;
  State: NerdctlContainerState;
  /** The image reference the container was made from. */
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  AppArmorProfile: string;
  HostConfig: Record<string, unknown> & {
    NetworkMode?: string;
    PortBindings?: Record<string, NerdctlPortBinding[] | null>;
  };
  Mounts: NerdctlMount[] | null;
  Config: {
    Hostname: string;
    Domainname?: string;
    User?: string;
    AttachStdin: boolean;
    Env: string[] | null;
    Image: string;
    Labels: Record<string, string> | null;
    WorkingDir?: string;
    StopSignal?: string;
    Tty?: boolean;
    OpenStdin?: boolean;
    Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number } | null;
  };
  NetworkSettings: {
    Ports?: Record<string, NerdctlPortBinding[] | null> | null;
    GlobalIPv6Address: string;
    GlobalIPv6PrefixLen: number;
    IPAddress: string;
    IPPrefixLen: number;
    MacAddress: string;
    Networks?: Record<string, NerdctlEndpoint> | null;
  } | null;
}

/** The few fields of `nerdctl image inspect` a container's document needs. */
export interface NerdctlImageIdentity {
  Id: string;
  RepoTags: string[] | null;
  Config: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    WorkingDir?: string;
  };
}

/** Containers with the images they were made from. */
export interface ContainerSnapshot {
  containers: NerdctlContainerInspect[];
  /** By the image reference each container was made from. */
  images: Map<string, NerdctlImageIdentity>;
}

/** A container's sizes as `nerdctl ps --size` prints them. */
export interface ContainerSize {
  /** The writable layer. */
  rw: number;
  /** The whole root filesystem (image included). */
  rootFs: number;
}
