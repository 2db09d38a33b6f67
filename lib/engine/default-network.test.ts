import { describe, expect, it } from "vitest";
import { ipv4NetworksOverlap, onlyNerdctlBridgeHoldsDefaultSubnet } from "./default-network.ts";

describe("ipv4NetworksOverlap", () => {
  const subnet = { address: "10.4.0.0", prefixLength: 24 };
  it("compares on the shorter prefix", () => {
    expect(ipv4NetworksOverlap({ address: "10.4.0.1", prefixLength: 24 }, subnet)).toBe(true);
    expect(ipv4NetworksOverlap({ address: "10.9.9.9", prefixLength: 8 }, subnet)).toBe(true);
    expect(ipv4NetworksOverlap({ address: "10.4.0.77", prefixLength: 32 }, subnet)).toBe(true);
    expect(ipv4NetworksOverlap({ address: "10.4.1.1", prefixLength: 24 }, subnet)).toBe(false);
    expect(ipv4NetworksOverlap({ address: "192.0.2.2", prefixLength: 24 }, subnet)).toBe(false);
  });
});

describe("onlyNerdctlBridgeHoldsDefaultSubnet", () => {
  const iface = (ifname: string, local: string, prefixlen: number) => ({
    ifname,
    addr_info: [{ family: "inet", local, prefixlen }],
  });
  const lo = iface("lo", "127.0.0.1", 8);
  const eth0 = iface("eth0", "192.0.2.2", 24);

  it("is true when a left-over nerdctl0 with 10.4.0.1/24 is the only holder", () => {
    const json = JSON.stringify([lo, eth0, iface("nerdctl0", "10.4.0.1", 24)]);
    expect(onlyNerdctlBridgeHoldsDefaultSubnet(json)).toBe(true);
  });

  it("is false when another interface overlaps, nerdctl0 has another address, or there is no nerdctl0", () => {
    expect(
      onlyNerdctlBridgeHoldsDefaultSubnet(JSON.stringify([lo, iface("nerdctl0", "10.4.0.1", 24), iface("tun0", "10.0.0.5", 8)])),
    ).toBe(false);
    expect(onlyNerdctlBridgeHoldsDefaultSubnet(JSON.stringify([lo, iface("nerdctl0", "10.4.0.9", 24)]))).toBe(false);
    expect(onlyNerdctlBridgeHoldsDefaultSubnet(JSON.stringify([lo, eth0]))).toBe(false);
    expect(onlyNerdctlBridgeHoldsDefaultSubnet("not json")).toBe(false);
  });
});
