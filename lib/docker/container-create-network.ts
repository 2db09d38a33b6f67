import { isIP } from "node:net";
import { badParameter, describeValue } from "../errors.ts";
import { strings, text, type CreateFlags } from "./container-create-builder.ts";
import type { ContainerCreateRequest, EndpointSettings, PortBinding } from "./container-create-types.ts";

/* Networking: the network, the endpoint's addresses, published ports, DNS and /etc/hosts entries. */

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** What a create body asks of the network, checked: the mode and the one endpoint dockerd allows at create. */
export interface NetworkChoice {
  /** "bridge" (the default), "host", "none", "container:<name>", or a network name or id to look up. */
  mode: string;
  /** A network to look up before creating (a name or id the client gave). */
  custom?: string;
  endpoint: EndpointSettings;
}

const isDefault = (mode: string) => mode === "" || mode === "default" || mode === "bridge";

export function chooseNetwork(request: ContainerCreateRequest): NetworkChoice {
  const endpoints = Object.entries(request.NetworkingConfig?.EndpointsConfig ?? {});
  if (endpoints.length > 1) throw badParameter(`Container cannot be connected to network endpoints: ${endpoints.map(([name]) => name).join(", ")}`);
  const [endpointName, endpoint] = endpoints[0] ?? [];
  if (endpointName !== undefined && !endpoint) throw badParameter(`no EndpointSettings for ${endpointName}`);
  let mode = text("HostConfig.NetworkMode", request.HostConfig?.NetworkMode);
  // A client naming only the endpoint's network (NetworkMode left to the default) means that network.
  if (isDefault(mode) && endpointName !== undefined && !isDefault(endpointName)) mode = endpointName;
  if (request.NetworkDisabled) mode = "none";
  if (isDefault(mode)) return { mode: "bridge", endpoint: endpoint ?? {} };
  if (mode === "host" || mode === "none") return { mode, endpoint: endpoint ?? {} };
  const container = /^container:(.*)$/.exec(mode)?.[1];
  if (container !== undefined) {
    if (!NETWORK_NAME.test(container)) throw badParameter(`invalid network mode: ${mode}`);
    return { mode, endpoint: endpoint ?? {} };
  }
  if (!NETWORK_NAME.test(mode)) throw badParameter(`invalid network mode: ${describeValue(mode)}`);
  return { mode, custom: mode, endpoint: endpoint ?? {} };
}

function ipAddress(field: string, value: string, family: 4 | 6): string {
  if (isIP(value) !== family) throw badParameter(`invalid IPv${family} address: ${value}`);
  return value;
}

const MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

/** The endpoint's own settings: fixed addresses and MAC, only where the container gets a network of its own. */
function endpoint(flags: CreateFlags, request: ContainerCreateRequest, choice: NetworkChoice): void {
  const ipam = choice.endpoint.IPAMConfig ?? {};
  const ipv4 = text("IPAMConfig.IPv4Address", ipam.IPv4Address);
  const ipv6 = text("IPAMConfig.IPv6Address", ipam.IPv6Address);
  const mac = text("MacAddress", choice.endpoint.MacAddress) || text("MacAddress", request.MacAddress);
  if (strings("IPAMConfig.LinkLocalIPs", ipam.LinkLocalIPs).length) flags.warn("Link-local addresses are not supported and were discarded.");
  const own = choice.mode === "bridge" || choice.custom !== undefined;
  if (!own && (ipv4 || ipv6)) throw badParameter("conflicting options: IP address and the network mode");
  if (!own && mac) throw badParameter("conflicting options: mac-address and the network mode");
  if (ipv4) flags.set("ip", ipAddress("IPv4Address", ipv4, 4));
  if (ipv6) flags.set("ip6", ipAddress("IPv6Address", ipv6, 6));
  if (mac) {
    if (!MAC.test(mac)) throw badParameter(`invalid MAC address: ${mac}`);
    flags.set("mac-address", mac);
  }
}

const CONTAINER_PORT = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/;

/** `80/tcp` → ["80", "tcp"]; a 400 when it is not a port. */
export function containerPort(key: string): [string, string] {
  const match = CONTAINER_PORT.exec(key);
  if (!match || Number(match[1]) > 65535 || Number(match[2] ?? 0) > 65535) throw badParameter(`invalid port specification: ${JSON.stringify(key)}`);
  return [match[2] ? `${match[1]}-${match[2]}` : match[1]!, match[3] ?? "tcp"];
}

/** One -p word: `[ip:][hostPort:]port/proto`, the host port left out for a random one. */
function publish(port: string, protocol: string, binding: PortBinding): string {
  const hostIp = text("PortBindings.HostIp", binding.HostIp);
  const hostPort = text("PortBindings.HostPort", binding.HostPort);
  if (hostPort && !/^\d{1,5}(?:-\d{1,5})?$/.test(hostPort)) throw badParameter(`invalid port specification: ${JSON.stringify(hostPort)}`);
  if (hostIp && !isIP(hostIp)) throw badParameter(`invalid IP address: ${hostIp}`);
  const ip = isIP(hostIp) === 6 ? `[${hostIp}]` : hostIp;
  const host = ip ? `${ip}:${hostPort}:` : hostPort ? `${hostPort}:` : "";
  return `${host}${port}/${protocol}`;
}

function ports(flags: CreateFlags, request: ContainerCreateRequest, choice: NetworkChoice): void {
  const host = request.HostConfig ?? {};
  for (const key of Object.keys(request.ExposedPorts ?? {})) containerPort(key);
  const bindings = Object.entries(host.PortBindings ?? {}).map(([key, list]) => ({ key, port: containerPort(key), list: list ?? [] }));
  if (choice.mode !== "bridge" && choice.custom === undefined) {
    if (bindings.some((binding) => binding.list.length) || host.PublishAllPorts) {
      flags.warn("Published ports are discarded when using host network mode");
    }
    return;
  }
  const words = bindings.flatMap(({ port: [port, protocol], list }) => list.map((binding) => publish(port, protocol, binding ?? {})));
  if (host.PublishAllPorts) {
    // Every exposed port (the image's and the client's) without a binding of its own gets a random host port.
    const bound = new Set(bindings.filter((binding) => binding.list.length).map(({ port }) => port.join("/")));
    // An image's port that is not one (an image is not checked as a client is) is left out.
    const exposed = [...flags.image.exposedPorts.filter((key) => CONTAINER_PORT.test(key)), ...Object.keys(request.ExposedPorts ?? {})].map((key) =>
      containerPort(key).join("/"),
    );
    for (const key of new Set(exposed)) if (!bound.has(key)) words.push(key);
  }
  flags.list("publish", words);
}

/** /etc/hosts entries: `name:ip` (or `name=ip`), the ip possibly `host-gateway`. */
function extraHosts(values: string[]): string[] {
  return values.map((entry) => {
    const match = /^([^:=\s,"]+)[:=](.+)$/.exec(entry);
    if (!match || (match[2] !== "host-gateway" && !isIP(match[2]!))) throw badParameter(`invalid IP address in add-host: ${JSON.stringify(entry)}`);
    return `${match[1]}:${match[2]}`;
  });
}

function dns(flags: CreateFlags, request: ContainerCreateRequest): void {
  const host = request.HostConfig ?? {};
  const servers = strings("HostConfig.Dns", host.Dns);
  for (const server of servers) if (!isIP(server)) throw badParameter(`${server} is not an ip address`);
  flags.list("dns", servers);
  flags.list("dns-opt", strings("HostConfig.DnsOptions", host.DnsOptions));
  flags.list("dns-search", strings("HostConfig.DnsSearch", host.DnsSearch));
  flags.list("add-host", extraHosts(strings("HostConfig.ExtraHosts", host.ExtraHosts)));
}

/** What a hostname may be (the kernel's 64 bytes); an alias that is not one stays unresolved. */
const HOSTNAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** The label compose names a container's service in: the alias its peers use. */
const COMPOSE_SERVICE = "com.docker.compose.service";

/**
 * nerdctl has no network aliases: the containers of a user-defined network find
 * each other by the names and hostnames it writes into their /etc/hosts. A
 * container with no hostname of its own there takes an alias besides its name
 * as hostname, as nerdctl's own compose does: its compose service's (compose
 * also lists the container's final name, which differs while it recreates one),
 * else the first; any other alias is left unresolved, with a warning.
 */
function aliases(flags: CreateFlags, request: ContainerCreateRequest, choice: NetworkChoice, name: string | undefined): void {
  const wanted = [...new Set(strings("EndpointSettings.Aliases", choice.endpoint.Aliases))].filter((alias) => alias !== name);
  const service = request.Labels?.[COMPOSE_SERVICE];
  const candidates = wanted.filter((alias) => HOSTNAME.test(alias)).sort((a, b) => Number(b === service) - Number(a === service));
  const hostname = choice.custom !== undefined && !text("Hostname", request.Hostname) ? candidates[0] : undefined;
  if (hostname) flags.set("hostname", hostname);
  if (wanted.some((alias) => alias !== hostname)) {
    flags.warn("Network aliases are not supported: the container is reachable by its name and its hostname only.");
  }
}

/** Networking flags; `network` is the custom network's name as the engine knows it, when there is one. */
export function translateNetwork(request: ContainerCreateRequest, choice: NetworkChoice, flags: CreateFlags, network?: string, name?: string): void {
  if (choice.mode.startsWith("container:") && request.Hostname) throw badParameter("conflicting options: hostname and the network mode");
  if (choice.mode !== "bridge") flags.list("network", [network ?? choice.mode]);
  aliases(flags, request, choice, name);
  endpoint(flags, request, choice);
  ports(flags, request, choice);
  dns(flags, request);
}
