import { info, listAllContainers, listImageIds, version } from "../../lib/nerdctl/system.ts";
import type { Scenario } from "../fixture-scenarios.ts";

/** Calls that fail, for the stderr → Docker error table; the argv is what the daemon would build. */
const FAILURES: string[][] = [
  ["image", "inspect", "--", "nosuch:latest"],
  ["container", "inspect", "--", "nosuch"],
  ["volume", "inspect", "--", "nosuch"],
  ["network", "inspect", "--", "nosuch"],
  ["rm", "--", "web"],
  ["rmi", "--", "busybox:latest"],
  ["network", "create", "--", "bridge"],
  ["tag", "--", "busybox:latest", "UPPER/case"],
];

export const SYSTEM_SCENARIOS: Scenario[] = [
  {
    name: "system",
    async record(nerdctl) {
      await version(nerdctl);
      await info(nerdctl);
      await listAllContainers(nerdctl);
      await listImageIds(nerdctl);
    },
  },
  {
    // What a request carrying the namespace header sees on a Kubernetes-style namespace.
    name: "system-k8s",
    async record(nerdctl) {
      const k8s = nerdctl.withNamespace("k8s.io");
      await version(k8s);
      await info(k8s);
      await listAllContainers(k8s);
      await listImageIds(k8s);
    },
  },
  {
    name: "failures",
    async record(nerdctl, runner) {
      for (const args of FAILURES) await runner.run(nerdctl.command(args));
    },
  },
];
