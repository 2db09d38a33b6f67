/** JSON shapes nerdctl prints with `--format '{{json .}}'` (nerdctl 2.3). */

export interface NerdctlComponent {
  Name: string;
  Version: string;
  Details?: Record<string, string>;
}

export interface NerdctlVersion {
  Client: {
    Version: string;
    GitCommit: string;
    GoVersion: string;
    Os: string;
    Arch: string;
    Components?: NerdctlComponent[];
  };
  Server?: { Components?: NerdctlComponent[] };
}

export interface NerdctlInfo {
  ID: string;
  Driver: string;
  Plugins: { Log?: string[]; Storage?: string[]; Volume?: string[]; Network?: string[] };
  MemoryLimit: boolean;
  SwapLimit: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  IPv4Forwarding: boolean;
  BridgeNfIptables: boolean;
  BridgeNfIp6tables: boolean;
  OomKillDisable: boolean;
  SystemTime: string;
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  KernelVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  Name: string;
  ServerVersion: string;
  SecurityOptions?: string[];
  Warnings?: string[] | null;
}

/** One line of `nerdctl ps --format '{{json .}}'`. */
export interface NerdctlContainerLine {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  Status: string;
  Names: string;
  Ports?: string;
  Labels?: string;
  Platform?: string;
  Size?: string;
}

/** One record of `buildctl du --format '{{json .}}'` (BuildKit 0.31). */
export interface BuildctlUsageRecord {
  id: string;
  parents?: string[] | null;
  recordType?: string;
  description?: string;
  inUse?: boolean;
  shared?: boolean;
  size?: number;
  createdAt?: string;
  lastUsedAt?: string | null;
  usageCount?: number;
}
