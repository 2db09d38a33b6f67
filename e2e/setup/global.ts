import type { TestProject } from "vitest/node";
import { formatViolations, startConformanceProxy, type ConformanceProxy } from "../support/conformance-proxy.ts";
import type { EngineAccess } from "../support/engine-client.ts";
import { chooseProvider, startProvider, type EngineProvider, type ProviderName } from "../support/providers.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** DOCKER_HOST of the daemon under test (through the conformance proxy). */
    dockerHost: string;
    /** Where the engine runs: "host" or "testcontainers" (NERDCTLD_E2E_PROVIDER). */
    provider: ProviderName;
    /** How test files reach the engine's own nerdctl (engineNerdctl in support/engine-client.ts). */
    engine: EngineAccess;
  }
}

let provider: EngineProvider | undefined;
let proxy: ConformanceProxy | undefined;

/**
 * One daemon on one engine for the whole e2e run, stopped (and its engine with
 * it) at the end. Every client reaches it through a proxy that checks each
 * JSON response against the Docker API spec.
 */
export async function setup(project: TestProject): Promise<void> {
  const name = await chooseProvider();
  console.error(`nerdctld e2e: engine provider ${name}`);
  provider = await startProvider(name);
  proxy = await startConformanceProxy(provider.dockerHost);
  project.provide("dockerHost", proxy.dockerHost);
  project.provide("provider", provider.name);
  project.provide("engine", provider.access);
}

export async function teardown(): Promise<void> {
  const violations = proxy?.violations ?? [];
  console.error(`nerdctld e2e: conformance proxy checked ${proxy?.checked() ?? 0} JSON responses, ${violations.length} violations`);
  await proxy?.stop();
  await provider?.stop();
  if (violations.length > 0) {
    // vitest only logs an error thrown here; the exit code is what fails the run.
    process.exitCode = 1;
    throw new Error(`responses that break the Docker API spec:\n${formatViolations(violations)}`);
  }
}
