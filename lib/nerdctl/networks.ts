import { badParameter, isKind } from "../errors.ts";
import type { Nerdctl } from "./client.ts";
import type { NerdctlCompatNetwork, NerdctlNativeNetwork } from "./network-types.ts";
import { assertObjectName } from "./validate.ts";

const subject = (name: string) => ({ kind: "network" as const, name });

/** Names of the namespace's networks (host and none included: they have no id). */
export async function listNetworkNames(nerdctl: Nerdctl): Promise<string[]> {
  const stdout = await nerdctl.output(["network", "ls", "--format", "{{.Name}}"], {}, { shared: true });
  return stdout.split("\n").filter((line) => line.trim() !== "");
}

/** The CNI configuration of networks, by name or id, in one call. */
export async function inspectNetworksNative(nerdctl: Nerdctl, refs: string[]): Promise<NerdctlNativeNetwork[]> {
  if (refs.length === 0) return [];
  for (const ref of refs) assertObjectName("network", ref);
  return nerdctl.json<NerdctlNativeNetwork[]>(["network", "inspect", "--mode", "native", "--", ...refs], subject(refs[0]!));
}

/** Networks' names, ids and drivers (one call); none when nerdctl cannot say. */
export async function networkIdentities(nerdctl: Nerdctl, refs: string[]): Promise<{ name: string; id: string; type: string }[]> {
  const networks = await inspectNetworksNative(nerdctl, refs).catch(() => []);
  return networks.map((network) => ({
    name: network.CNI.name,
    id: network.NerdctlID ?? network.CNI.name,
    type: network.CNI.plugins[0]?.type ?? "bridge",
  }));
}

/** Networks' ids by name, in one call; host and none have none, and a network removed meanwhile is left out. */
export async function networkIdsByName(nerdctl: Nerdctl, names: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(names)].filter((name) => name !== "host" && name !== "none");
  if (wanted.length === 0) return new Map();
  try {
    // nerdctl answers for those it finds, and fails only when it finds none.
    const networks = await inspectNetworksNative(nerdctl, wanted);
    return new Map(networks.flatMap((network) => (network.NerdctlID ? [[network.CNI.name, network.NerdctlID] as const] : [])));
  } catch (error) {
    if (isKind(error, "not-found")) return new Map();
    throw error;
  }
}

/** The containers attached to a network. */
export async function inspectNetworkCompat(nerdctl: Nerdctl, ref: string): Promise<NerdctlCompatNetwork> {
  assertObjectName("network", ref);
  const [network] = await nerdctl.json<NerdctlCompatNetwork[]>(["network", "inspect", "--", ref], subject(ref));
  return network!;
}

/** Every network's configuration, in two calls whatever their number. */
export async function networkSnapshot(nerdctl: Nerdctl): Promise<NerdctlNativeNetwork[]> {
  return inspectNetworksNative(nerdctl, await listNetworkNames(nerdctl));
}

export interface NetworkCreateOptions {
  name: string;
  driver: "bridge" | "macvlan" | "ipvlan";
  internal: boolean;
  ipv6: boolean;
  subnets: { subnet: string; gateway?: string; ipRange?: string }[];
  labels: Record<string, string>;
  options: Record<string, string>;
}

const CIDR = /^[0-9a-fA-F.:]+\/\d{1,3}$/;
const IP = /^[0-9a-fA-F.:]+$/;
const OPTION = /^[A-Za-z0-9][\w.\-/]*$/;

function safeValue(kind: string, value: string, pattern?: RegExp): string {
  if (/[\0\n]/.test(value) || (pattern && !pattern.test(value))) throw badParameter(`invalid ${kind}: ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** Creates a network; returns its id. */
export async function createNetwork(nerdctl: Nerdctl, options: NetworkCreateOptions): Promise<string> {
  assertObjectName("network", options.name);
  const args = ["network", "create", "--driver", options.driver];
  if (options.internal) args.push("--internal");
  if (options.ipv6) args.push("--ipv6");
  // Values ride in `--flag=value` form, so none can be read as a flag of its own.
  for (const { subnet, gateway, ipRange } of options.subnets) {
    args.push(`--subnet=${safeValue("subnet", subnet, CIDR)}`);
    if (gateway) args.push(`--gateway=${safeValue("gateway", gateway, IP)}`);
    if (ipRange) args.push(`--ip-range=${safeValue("IP range", ipRange, CIDR)}`);
  }
  for (const [key, value] of Object.entries(options.labels)) args.push(`--label=${safeValue("label", key)}=${safeValue("label", value)}`);
  for (const [key, value] of Object.entries(options.options)) args.push(`--opt=${safeValue("option", key, OPTION)}=${safeValue("option", value)}`);
  const stdout = await nerdctl.output([...args, "--", options.name], subject(options.name));
  return stdout.trim().split("\n").at(-1) ?? "";
}

export async function removeNetworks(nerdctl: Nerdctl, refs: string[]): Promise<void> {
  if (refs.length === 0) return;
  for (const ref of refs) assertObjectName("network", ref);
  await nerdctl.output(["network", "rm", "--", ...refs], subject(refs[0]!));
}
