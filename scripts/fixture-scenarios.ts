import type { Nerdctl } from "../lib/nerdctl/client.ts";
import { info, listAllContainers, listImageIds, version } from "../lib/nerdctl/system.ts";
import type { CommandRunner } from "../lib/runner/types.ts";

/**
 * What `npm run fixtures:record` records, one directory of fixtures per
 * scenario. `record` runs the daemon's own nerdctl functions through the
 * recording runner, so fixtures hold exactly the argv the daemon builds.
 * The engine is prepared first (see record-fixtures.ts): the busybox image
 * loaded, containers `web` (running), `done` (exited) and `fresh` (created);
 * the image also loaded in the `k8s.io` namespace, which has no containers.
 */
export interface Scenario {
  name: string;
  record(nerdctl: Nerdctl, runner: CommandRunner): Promise<void>;
}

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

export const SCENARIOS: Scenario[] = [
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
