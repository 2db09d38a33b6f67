import type { TestProject } from "vitest/node";
import { startDaemonUnderTest, type DaemonUnderTest } from "../support/daemon.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** DOCKER_HOST of the daemon under test. */
    dockerHost: string;
    /** Environment that points nerdctl at the same engine (to compare what the daemon says with the engine's own view). */
    engineEnv: Record<string, string>;
    nerdctl: string;
  }
}

let daemon: DaemonUnderTest | undefined;

/** One daemon on one engine for the whole e2e run, stopped (and its engine with it) at the end. */
export async function setup(project: TestProject): Promise<void> {
  daemon = await startDaemonUnderTest();
  project.provide("dockerHost", daemon.dockerHost);
  project.provide("engineEnv", daemon.engineEnv);
  project.provide("nerdctl", daemon.nerdctl);
}

export async function teardown(): Promise<void> {
  await daemon?.stop();
}
