/** `nerdctl network inspect` output (nerdctl 2.3), in both of its modes. */

export interface NerdctlCniPlugin {
  type: string;
  bridge?: string;
  isGateway?: boolean;
  ipMasq?: boolean;
  ipam?: { type?: string; ranges?: { subnet: string; gateway?: string; rangeStart?: string; rangeEnd?: string }[][] };
  [key: string]: unknown;
}

/** `--mode native`: the CNI configuration nerdctl wrote, and its file. */
export interface NerdctlNativeNetwork {
  CNI: { name: string; nerdctlID?: string; nerdctlLabels?: Record<string, string> | null; plugins: NerdctlCniPlugin[] };
  NerdctlID: string | null;
  NerdctlLabels?: Record<string, string> | null;
  File?: string;
}

/** The default (Docker-compatible) mode: which containers are attached. */
export interface NerdctlCompatNetwork {
  Name: string;
  Id?: string;
  Containers: Record<string, { Name: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> | null;
}
