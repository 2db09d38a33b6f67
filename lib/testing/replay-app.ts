import { join } from "node:path";
import type { H3 } from "h3";
import type { DaemonFacts } from "../docker/system.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { API_VERSION } from "../server/api-version.ts";
import { createDaemonApp } from "../server/app.ts";
import { loadRouteFiles } from "../server/route-files.ts";
import { EventHub } from "../service/events/hub.ts";

export const FIXTURES_DIR = join(import.meta.dirname, "..", "..", "fixtures");

export const TEST_FACTS: DaemonFacts = {
  version: "0.0.0-test",
  gitCommit: "",
  apiVersion: API_VERSION.max,
  minApiVersion: API_VERSION.min,
  debug: false,
  rootDir: "/var/lib/nerdctl",
  eventListeners: 0,
  env: {},
};

/**
 * The daemon's real routes over recorded nerdctl output (fixtures/<scenario>),
 * with the daemon's events: what the services announce is there to read, and
 * no engine source runs unless a test subscribes.
 */
export async function replayApp(...scenarios: string[]): Promise<{ app: H3; runner: ReplayRunner; events: EventHub }> {
  const fixtures = await Promise.all(scenarios.map((scenario) => ReplayRunner.fromDirectory(join(FIXTURES_DIR, scenario))));
  const runner = new ReplayRunner(fixtures.flatMap((replay) => replay.fixtures));
  const nerdctl = new Nerdctl(runner);
  const events = new EventHub(nerdctl);
  const app = createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services: { nerdctl, facts: () => TEST_FACTS, events },
    daemonVersion: TEST_FACTS.version,
  });
  return { app, runner, events };
}

/** Sends a request to the app as a client would (path relative to the daemon). */
export function send(app: H3, path: string, init?: RequestInit): Promise<Response> {
  return Promise.resolve(app.fetch(new Request(`http://localhost${path}`, init)));
}
