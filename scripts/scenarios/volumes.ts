import type { Scenario } from "../fixture-scenarios.ts";

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

export const VOLUME_SCENARIOS: Scenario[] = [
  {
    // Volumes then: `data` (used by ported), `spare` (unused), `labelled` (tier=db, unused),
    // and an anonymous one used by the exited container `anon`.
    name: "volumes",
    async prepare(nerdctl) {
      for (const args of [
        ["volume", "create", "spare"],
        ["volume", "create", "--label", "tier=db", "labelled"],
        ["run", "--name", "anon", "--volume", "/scratch", "busybox", "true"],
      ]) {
        const result = await nerdctl.runner.run(nerdctl.command(args));
        if (result.exitCode !== 0) throw new Error(`prepare volumes: ${result.stderr}`);
      }
    },
    async record(_nerdctl, _runner, request) {
      // Reads only: each call is recorded once, so a test may repeat it any number of times.
      await request("/v1.43/volumes");
      await request("/v1.43/volumes/data");
      await request("/v1.43/volumes/nosuch");
    },
  },
  {
    // Changes, in the order the route tests make them.
    name: "volumes-changes",
    async record(_nerdctl, _runner, request) {
      await request("/v1.43/volumes/create", json({ Name: "made", Labels: { made: "here" } }));
      await request("/v1.43/volumes/made", { method: "DELETE" });
      await request("/v1.43/volumes/data", { method: "DELETE" });
      await request("/v1.43/volumes/nosuch", { method: "DELETE" });
      await request(`/v1.43/volumes/prune?filters=${encodeURIComponent('{"label":["tier=db"],"all":["true"]}')}`, { method: "POST" });
      await request("/v1.41/volumes/prune", { method: "POST" });
    },
  },
];
