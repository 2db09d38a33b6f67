/**
 * nerdctl's default "bridge" network, created at engine start as dockerd has
 * its own from the start, and the subnet checks that decide how.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { PROBE_TIMEOUT_MS } from "./daemons.ts";
import type { EngineLayout } from "./layout.ts";

/** nerdctl's default network: bridge nerdctl0, 10.4.0.0/24, gateway 10.4.0.1 (netutil.DefaultCIDR). */
const NERDCTL_DEFAULT_BRIDGE = "nerdctl0";
const NERDCTL_DEFAULT_SUBNET = { address: "10.4.0.0", prefixLength: 24 };
const NERDCTL_DEFAULT_GATEWAY = "10.4.0.1";

function ipv4ToNumber(address: string): number | null {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return null;
  return parts.reduce((value, part) => value * 256 + part, 0);
}

/** Whether two IPv4 networks share an address (one contains the other's network address). */
export function ipv4NetworksOverlap(
  a: { address: string; prefixLength: number },
  b: { address: string; prefixLength: number },
): boolean {
  const first = ipv4ToNumber(a.address);
  const second = ipv4ToNumber(b.address);
  if (first === null || second === null) return false;
  const prefix = Math.min(a.prefixLength, b.prefixLength);
  const block = 2 ** (32 - prefix);
  return Math.floor(first / block) === Math.floor(second / block);
}

interface InterfaceAddresses {
  ifname: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/**
 * True when what keeps nerdctl from creating its default network is only its
 * own bridge, left on the host by an earlier engine (the CNI bridge plugin
 * never removes it): nerdctl0 holds 10.4.0.1/24 and no other interface has an
 * address overlapping 10.4.0.0/24. Takes `ip -j -4 addr` output.
 */
export function onlyNerdctlBridgeHoldsDefaultSubnet(ipJson: string): boolean {
  let interfaces: InterfaceAddresses[];
  try {
    interfaces = JSON.parse(ipJson) as InterfaceAddresses[];
  } catch {
    return false;
  }
  let bridgeHasGateway = false;
  for (const { ifname, addr_info: addresses = [] } of interfaces) {
    for (const { family, local, prefixlen } of addresses) {
      if (family !== "inet" || local === undefined || prefixlen === undefined) continue;
      if (!ipv4NetworksOverlap({ address: local, prefixLength: prefixlen }, NERDCTL_DEFAULT_SUBNET)) continue;
      if (ifname !== NERDCTL_DEFAULT_BRIDGE) return false;
      if (local === NERDCTL_DEFAULT_GATEWAY && prefixlen === NERDCTL_DEFAULT_SUBNET.prefixLength) bridgeHasGateway = true;
      else return false;
    }
  }
  return bridgeHasGateway;
}

/**
 * nerdctl 2.3 creates its default "bridge" network lazily, on the first `run`
 * or `compose`, so a fresh engine would list only host and none, unlike a
 * fresh dockerd. `compose config` on an empty project is the side-effect-free
 * command that runs nerdctl's own creation code (it is a no-op once the
 * network exists).
 *
 * nerdctl refuses to create it while any host interface has an address in
 * 10.4.0.0/24, which includes the nerdctl0 bridge an earlier engine left
 * behind (a fresh data dir after `removeData`, or a second engine on the
 * host). When nerdctl0 is the only holder, the same command runs in an empty
 * network namespace (`unshare --net`; the config file it writes is what
 * nerdctl writes on a clean host), and containers join the existing bridge,
 * as they would with any nerdctl on this host.
 */
export async function ensureDefaultNetwork(layout: EngineLayout, env: Record<string, string>, timeoutMs: number): Promise<void> {
  const composeFile = join(layout.stateDir, "default-network.compose.yaml");
  await writeFile(composeFile, "services: {}\n");
  const args = ["compose", "--file", composeFile, "--project-name", "nerdctld-engine", "config", "--quiet"];
  const options = { env: { ...process.env, ...env }, cwd: layout.stateDir, reject: false, timeout: timeoutMs, stdin: "ignore" } as const;
  let result = await execa(layout.bin.nerdctl, args, options);
  if (result.exitCode !== 0 && /overlaps with other one on this address space/.test(String(result.stderr))) {
    const addresses = await execa("ip", ["-j", "-4", "addr", "show"], { reject: false, stdin: "ignore", timeout: PROBE_TIMEOUT_MS });
    if (addresses.exitCode === 0 && onlyNerdctlBridgeHoldsDefaultSubnet(String(addresses.stdout))) {
      result = await execa("unshare", ["--net", layout.bin.nerdctl, ...args], options);
    }
  }
  if (result.exitCode !== 0) {
    throw new Error(`cannot create nerdctl's default bridge network: ${String(result.stderr ?? "").trim() || result.message}`);
  }
}
