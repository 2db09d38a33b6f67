import { createHash } from "node:crypto";
import type { NetworkCreateOptions } from "../nerdctl/networks.ts";
import type { NerdctlCompatNetwork, NerdctlNativeNetwork } from "../nerdctl/network-types.ts";
import { badParameter, ApiError } from "../errors.ts";
import { noneOfLabels, parseFilterTime, type Filters } from "./filters.ts";
import { ZERO_TIME } from "./time.ts";

/** Docker API v1.43 Network. */
export interface Network {
  Name: string;
  Id: string;
  Created: string;
  Scope: "local";
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string>; Config: { Subnet: string; Gateway?: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** Networks every engine has, which cannot be removed (nerdctl's default bridge is `bridge`). */
export const BUILTIN_NETWORKS = ["bridge", "host", "none"] as const;

/** host and none have no id in nerdctl; Docker clients expect one, stable across restarts. */
export function builtinNetworkId(name: string): string {
  return createHash("sha256").update(`nerdctld-builtin-network:${name}`).digest("hex");
}

/** A network reference that names host or none by the id above. */
export function builtinByReference(ref: string): string | undefined {
  return ["host", "none"].find((name) => ref.length >= 12 && builtinNetworkId(name).startsWith(ref));
}

function driverOf(network: NerdctlNativeNetwork): string {
  const type = network.CNI.plugins[0]?.type ?? "";
  if (type === "nerdctl-pseudo") return network.CNI.name === "none" ? "null" : "host";
  return type;
}

export function toNetwork(network: NerdctlNativeNetwork, createdAt: string, attached?: NerdctlCompatNetwork): Network {
  const main = network.CNI.plugins[0];
  const ranges = (main?.ipam?.ranges ?? []).flat();
  const driver = driverOf(network);
  const labels = network.NerdctlLabels ?? network.CNI.nerdctlLabels ?? {};
  return {
    Name: network.CNI.name,
    Id: network.NerdctlID ?? builtinNetworkId(network.CNI.name),
    Created: createdAt || ZERO_TIME,
    Scope: "local",
    Driver: driver,
    EnableIPv6: ranges.some((range) => range.subnet.includes(":")),
    IPAM: {
      Driver: "default",
      Options: {},
      Config: ranges.map((range) => ({
        Subnet: range.subnet,
        ...(range.gateway ? { Gateway: range.gateway } : {}),
        ...(range.rangeStart && range.rangeEnd ? { IPRange: `${range.rangeStart}-${range.rangeEnd}` } : {}),
      })),
    },
    // nerdctl's --internal network is a bridge that neither routes nor masquerades out.
    Internal: driver === "bridge" && !main?.ipMasq,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: Object.fromEntries(
      Object.entries(attached?.Containers ?? {}).map(([id, endpoint]) => [id, { ...endpoint, EndpointID: "" }]),
    ),
    Options: main?.bridge ? { "com.docker.network.bridge.name": main.bridge } : {},
    Labels: labels,
  };
}

export const NETWORK_FILTERS = ["driver", "id", "label", "name", "scope", "type", "dangling"] as const;
export const NETWORK_PRUNE_FILTERS = ["label", "label!", "until"] as const;

/** GET /networks filters, with dockerd's meanings. `inUse` names the networks some container is on. */
export function selectNetworks(networks: Network[], filters: Filters, inUse: Set<string>): Network[] {
  for (const type of filters.values("type")) {
    if (type !== "custom" && type !== "builtin") throw badParameter(`invalid filter: 'type'='${type}'`);
  }
  const dangling = filters.bool("dangling");
  return networks.filter((network) => {
    const builtin = (BUILTIN_NETWORKS as readonly string[]).includes(network.Name);
    return (
      filters.match("name", network.Name) &&
      (!filters.has("id") || filters.values("id").some((id) => network.Id.startsWith(id))) &&
      filters.exactMatch("driver", network.Driver) &&
      filters.matchLabels(network.Labels) &&
      filters.exactMatch("scope", network.Scope) &&
      filters.exactMatch("type", builtin ? "builtin" : "custom") &&
      (dangling === undefined || dangling === (!builtin && !inUse.has(network.Name)))
    );
  });
}

/** What POST /networks/prune removes: custom networks no container is on, matching the filters. */
export function networkPruneCandidates(networks: Network[], filters: Filters, inUse: Set<string>, now: number): Network[] {
  const untils = filters.values("until").map((value) => parseFilterTime(value, now));
  return networks.filter(
    (network) =>
      !(BUILTIN_NETWORKS as readonly string[]).includes(network.Name) &&
      !inUse.has(network.Name) &&
      filters.matchLabels(network.Labels) &&
      noneOfLabels(filters, network.Labels) &&
      untils.every((until) => Date.parse(network.Created) < until),
  );
}

/** POST /networks/create body, checked. */
export function parseNetworkCreate(body: unknown): NetworkCreateOptions {
  const request = (body ?? {}) as Record<string, unknown>;
  if (typeof request.Name !== "string" || request.Name === "") throw badParameter("network name is required");
  // Docker clients (compose among them) send an empty Driver for the default.
  const driver = (request.Driver || "bridge") as string;
  if (!["bridge", "macvlan", "ipvlan"].includes(driver)) {
    throw badParameter(`network driver ${JSON.stringify(driver)} is not available: nerdctl has bridge, macvlan and ipvlan`);
  }
  if (request.Ingress) throw badParameter("ingress networks are a swarm feature; this engine is not a swarm manager");
  const ipam = (request.IPAM ?? {}) as { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null };
  if (ipam.Driver && ipam.Driver !== "default") throw badParameter(`IPAM driver ${JSON.stringify(ipam.Driver)} is not available`);
  const strings = (value: unknown, what: string) => {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value) || Object.values(value).some((item) => typeof item !== "string")) {
      throw badParameter(`${what} must be an object of strings`);
    }
    return value as Record<string, string>;
  };
  return {
    name: request.Name,
    driver: driver as NetworkCreateOptions["driver"],
    internal: request.Internal === true,
    ipv6: request.EnableIPv6 === true,
    subnets: (ipam.Config ?? []).map((config) => {
      if (!config.Subnet) throw badParameter("IPAM config needs a Subnet");
      return { subnet: config.Subnet, gateway: config.Gateway || undefined, ipRange: config.IPRange || undefined };
    }),
    labels: strings(request.Labels, "Labels"),
    options: strings(request.Options, "Options"),
  };
}

/** dockerd's refusal to remove a built-in network. */
export function predefinedNetworkError(name: string): ApiError {
  return new ApiError("forbidden", `${name} is a pre-defined network and cannot be removed`);
}
