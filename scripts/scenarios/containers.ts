import { containerSnapshot, inspectContainer, top } from "../../lib/nerdctl/containers.ts";
import type { Scenario } from "../fixture-scenarios.ts";

export const CONTAINER_SCENARIOS: Scenario[] = [
  {
    name: "containers",
    async prepare(nerdctl) {
      // A container with what lists show: a published port, a label, a named volume.
      const result = await nerdctl.runner.run(
        nerdctl.command([
          "run", "--detach", "--name", "ported", "--publish", "127.0.0.1:38473:80", "--label", "app=demo",
          "--volume", "data:/data", "busybox", "sleep", "3600",
        ]),
      );
      if (result.exitCode !== 0) throw new Error(`prepare containers: ${result.stderr}`);
    },
    async record(nerdctl) {
      await containerSnapshot(nerdctl, { all: true });
      await containerSnapshot(nerdctl, { all: false });
      for (const name of ["web", "done", "fresh", "ported"]) await inspectContainer(nerdctl, name);
      await inspectContainer(nerdctl, "nosuch").catch(() => {});
      await top(nerdctl, "web", "");
      await top(nerdctl, "web", "-o pid,comm");
      await top(nerdctl, "done", "").catch(() => {});
    },
  },
];
