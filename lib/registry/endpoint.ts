/**
 * Which registry a request goes to, and how: Docker's names for Docker Hub,
 * host[:port] validation, and the scheme (plain HTTP only for loopback
 * registries, which dockerd treats as insecure by default: 127.0.0.0/8).
 */
import { badParameter, describeValue } from "../errors.ts";
import { DEFAULT_DOMAIN } from "../reference.ts";

/** Where Docker Hub's registry API is (dockerd's DefaultV2Registry). */
export const DOCKER_HUB_REGISTRY = "registry-1.docker.io";
/** Docker Hub's v1 index, which serves /v1/search. */
export const DOCKER_HUB_INDEX = "index.docker.io";

/** The names Docker uses for Docker Hub, in references, server addresses and search terms. */
const DOCKER_HUB_NAMES = new Set([DEFAULT_DOMAIN, DOCKER_HUB_INDEX, DOCKER_HUB_REGISTRY]);

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::([0-9]{1,5}))?$`);

/** host or host:port as the reference grammar allows it (brackets around IPv6 addresses). */
export function isRegistryHost(value: string): boolean {
  const match = HOST_RE.exec(value);
  if (!match || value.length > 255) return false;
  return match[1] === undefined || (Number(match[1]) > 0 && Number(match[1]) < 65536);
}

export function isDockerHub(host: string): boolean {
  return DOCKER_HUB_NAMES.has(host.toLowerCase());
}

/** The host of the registry API serving a reference's domain: Docker Hub's is registry-1.docker.io. */
export function registryApiHost(domain: string): string {
  return isDockerHub(domain) ? DOCKER_HUB_REGISTRY : domain;
}

function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]")).toLowerCase();
  const colon = host.lastIndexOf(":");
  return (colon === -1 ? host : host.slice(0, colon)).toLowerCase();
}

/** localhost, 127.0.0.0/8 and ::1: registries dockerd reaches over plain HTTP by default. */
export function isLoopbackHost(host: string): boolean {
  const name = hostname(host);
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (name === "::1" || name === "0:0:0:0:0:0:0:1") return true;
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets !== null && octets[1] === "127" && octets.slice(1).every((octet) => Number(octet) <= 255);
}

/** `http://127.0.0.1:5000` or `https://registry.example.com`. */
export function registryBaseUrl(host: string): string {
  return `${isLoopbackHost(host) ? "http" : "https"}://${host}`;
}

/**
 * The registry `docker login` names (`serveraddress`), as dockerd reads it:
 * empty or any of Docker Hub's names is Docker Hub; otherwise the URL's
 * host[:port] (a scheme or path the client added does not matter).
 */
export function loginRegistryHost(serverAddress: string | undefined): string {
  const address = (serverAddress ?? "").trim();
  if (address === "") return DOCKER_HUB_REGISTRY;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address) && !/^https?:\/\//i.test(address)) {
    throw badParameter(`unable to parse server address: unsupported scheme in ${describeValue(address)}`);
  }
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(address) ? address : `https://${address}`);
  } catch {
    throw badParameter(`unable to parse server address: ${describeValue(address)}`);
  }
  if (url.username || url.password) throw badParameter("unable to parse server address: credentials do not belong in the server address");
  // WHATWG URL drops a default port (https://host:443): the host is what Docker compares.
  const host = url.host;
  if (!isRegistryHost(host)) throw badParameter(`unable to parse server address: invalid host ${describeValue(host)}`);
  return registryApiHost(host);
}
