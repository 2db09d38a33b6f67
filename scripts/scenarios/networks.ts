import type { Scenario } from "../fixture-scenarios.ts";

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
      for (const args of [
        ["network", "create", "--label", "tier=db", "--subnet", "10.98.0.0/24", "spare"],
        ["network", "create", "--subnet", "10.97.0.0/24", "busy"],
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
      await request(
        "/v1.43/networks/create",
        post({ Name: "made", Labels: { made: "here" }, IPAM: { Config: [{ Subnet: "10.96.0.0/24", Gateway: "10.96.0.1" }] } }),
      );
      await request("/v1.43/networks/create", post({ Name: "made" }));
      await request("/v1.43/networks/made", { method: "DELETE" });
      await request("/v1.43/networks/busy", { method: "DELETE" });
      await request(`/v1.43/networks/prune?filters=${encodeURIComponent('{"label":["tier=db"]}')}`, { method: "POST" });
    },
  },
];
