import { execa } from "execa";
import type { Scenario } from "../fixture-scenarios.ts";

/**
 * /24 subnets no interface on this host uses: another engine's bridge may hold
 * any fixed one (nerdctl refuses an overlapping network).
 */
async function freeSubnets(count: number): Promise<string[]> {
  const { stdout } = await execa("ip", ["-4", "-o", "addr", "show"]);
  const used = new Set([...stdout.matchAll(/inet (\d+\.\d+\.\d+)\.\d+\//g)].map((match) => match[1]));
  const free: string[] = [];
  for (let third = 0; free.length < count && third < 256; third++) {
    if (!used.has(`10.213.${third}`)) free.push(`10.213.${third}.0/24`);
  }
  return free;
}

/** The subnets this run's scenarios use, chosen once. */
let subnets: Promise<string[]> | undefined;

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const NETWORK_SCENARIOS: Scenario[] = [
  {
    // Networks then: bridge, host, none, `spare` (label tier=db, unused), `busy` (container `linked` on it).
    name: "networks",
    async prepare(nerdctl) {
      subnets ??= freeSubnets(3);
      const [spare, busy] = await subnets;
      for (const args of [
        ["network", "create", "--label", "tier=db", `--subnet=${spare}`, "spare"],
        ["network", "create", `--subnet=${busy}`, "busy"],
        ["run", "--detach", "--name", "linked", "--network", "busy", "busybox", "sleep", "3600"],
      ]) {
        const result = await nerdctl.runner.run(nerdctl.command(args));
        if (result.exitCode !== 0) throw new Error(`prepare networks: ${result.stderr}`);
      }
    },
    async record(_nerdctl, _runner, request) {
      await request("/v1.43/networks");
      await request(`/v1.43/networks?filters=${encodeURIComponent('{"dangling":["true"]}')}`);
      await request("/v1.43/networks/bridge");
      await request("/v1.43/networks/busy");
      await request("/v1.43/networks/host");
      await request("/v1.43/networks/nosuch");
    },
  },
  {
    name: "networks-changes",
    async record(_nerdctl, _runner, request) {
      subnets ??= freeSubnets(3);
      const made = (await subnets)[2]!;
      await request(
        "/v1.43/networks/create",
        post({ Name: "made", Labels: { made: "here" }, IPAM: { Config: [{ Subnet: made, Gateway: made.replace(/0\/24$/, "1") }] } }),
      );
      await request("/v1.43/networks/create", post({ Name: "made" }));
      await request("/v1.43/networks/made", { method: "DELETE" });
      await request("/v1.43/networks/busy", { method: "DELETE" });
      await request(`/v1.43/networks/prune?filters=${encodeURIComponent('{"label":["tier=db"]}')}`, { method: "POST" });
    },
  },
];
