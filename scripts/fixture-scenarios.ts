import type { Nerdctl } from "../lib/nerdctl/client.ts";
import type { CommandRunner } from "../lib/runner/types.ts";
import { CONTAINER_CHANGE_SCENARIOS, CONTAINER_SCENARIOS, LOG_SCENARIOS } from "./scenarios/containers.ts";
import { IMAGE_SCENARIOS } from "./scenarios/images.ts";
import { NETWORK_SCENARIOS } from "./scenarios/networks.ts";
import { SYSTEM_SCENARIOS } from "./scenarios/system.ts";
import { VOLUME_SCENARIOS } from "./scenarios/volumes.ts";
import { TRANSFER_SCENARIOS } from "./scenarios/transfer.ts";
import { BUILD_SCENARIOS } from "./scenarios/build.ts";
import { EVENT_SCENARIOS } from "./scenarios/events.ts";

/**
 * What `npm run fixtures:record` records, one directory of fixtures per
 * scenario. `record` runs the daemon's own nerdctl functions through the
 * recording runner, so fixtures hold exactly the argv the daemon builds.
 * The engine is prepared first (see record-fixtures.ts): the busybox image
 * loaded, containers `web` (running), `done` (exited) and `fresh` (created);
 * the image also loaded in the `k8s.io` namespace, which has no containers.
 * Each resource keeps its scenarios in scripts/scenarios/<resource>.ts.
 */
export interface Scenario {
  name: string;
  /** Engine changes this scenario needs before recording, made through a runner that records nothing. */
  prepare?(nerdctl: Nerdctl, work: string): Promise<void>;
  /**
   * Makes the calls to record: through nerdctl functions, the runner, or the
   * daemon's own routes (`request`, a client's request to the app over the
   * recording runner), which records exactly what handlers run.
   */
  record(nerdctl: Nerdctl, runner: CommandRunner, request: (path: string, init?: RequestInit) => Promise<Response>): Promise<void>;
}

// In order: a scenario's prepare() changes the engine for the ones after it.
export const SCENARIOS: Scenario[] = [
  ...SYSTEM_SCENARIOS,
  ...CONTAINER_SCENARIOS,
  ...LOG_SCENARIOS,
  ...CONTAINER_CHANGE_SCENARIOS,
  ...VOLUME_SCENARIOS,
  ...NETWORK_SCENARIOS,
  ...TRANSFER_SCENARIOS,
  ...IMAGE_SCENARIOS,
  ...EVENT_SCENARIOS,
  ...BUILD_SCENARIOS,
];
