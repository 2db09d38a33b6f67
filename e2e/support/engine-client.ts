/**
 * nerdctl against the engine under test, from a test file. vitest's provide()
 * passes only serialisable values, so the global setup provides an
 * EngineAccess (how to reach the engine) rather than the provider object.
 */
import { execa } from "execa";

/** How to run nerdctl against the provider's engine: plain data. */
export type EngineAccess =
  | {
      kind: "host";
      /** nerdctl on this host, with the environment that points it at the engine. */
      nerdctl: string;
      env: Record<string, string>;
    }
  | {
      kind: "container";
      /** docker CLI and DOCKER_HOST of the Docker engine running the engine container. */
      docker: string;
      dockerHost: string;
      containerId: string;
      /** nerdctl inside the container, and its environment there. */
      nerdctl: string;
      env: Record<string, string>;
    };

export interface NerdctlOptions {
  /** containerd namespace; the engine's own (default) otherwise. */
  namespace?: string;
  /** Written to nerdctl's stdin. */
  input?: string;
}

export interface NerdctlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const TIMEOUT_MS = 120_000;
/**
 * Inside the engine container, nerdctl runs under coreutils' timeout, a little
 * shorter than ours: killing the docker CLI on the host would leave a hung
 * nerdctl (`run -i` sometimes never returns after its stdin ends) in the container.
 */
export const CONTAINER_TIMEOUT_SECONDS = 110;

/** timeout(1)'s argv prefix for a command run in the engine container. */
export function containerTimeoutPrefix(): string[] {
  return ["/usr/bin/timeout", "--kill-after=5", String(CONTAINER_TIMEOUT_SECONDS)];
}

/** The command line that runs `nerdctl args` against the engine, as this process would start it. */
export function engineNerdctlCommand(
  access: EngineAccess,
  args: string[],
  options: NerdctlOptions = {},
): { file: string; args: string[]; env: Record<string, string> } {
  const nerdctlArgs = [...(options.namespace ? ["--namespace", options.namespace] : []), ...args];
  if (access.kind === "host") return { file: access.nerdctl, args: nerdctlArgs, env: access.env };
  const envFlags = Object.entries(access.env).flatMap(([key, value]) => ["--env", `${key}=${value}`]);
  return {
    file: access.docker,
    // -i only with input: without it docker exec leaves nerdctl's stdin closed, as the host provider does.
    args: ["exec", ...(options.input === undefined ? [] : ["--interactive"]), ...envFlags, access.containerId, ...containerTimeoutPrefix(), access.nerdctl, ...nerdctlArgs],
    env: { DOCKER_HOST: access.dockerHost, DOCKER_CONFIG: "/tmp/nerdctld-e2e-docker-config", DOCKER_CLI_HINTS: "false" },
  };
}

/** Runs nerdctl against the engine described by access; never throws on a non-zero exit. */
export async function runEngineNerdctl(access: EngineAccess, args: string[], options: NerdctlOptions = {}): Promise<NerdctlResult> {
  const command = engineNerdctlCommand(access, args, options);
  const result = await execa(command.file, command.args, {
    env: command.env,
    reject: false,
    timeout: TIMEOUT_MS,
    ...(options.input === undefined ? { stdin: "ignore" as const } : { input: options.input }),
  });
  if (result.exitCode === undefined) {
    // Killed (signal, timeout) or never started: the reason is in execa's message, not in stderr.
    return { stdout: String(result.stdout ?? ""), stderr: `${String(result.stderr ?? "")}\n${result.shortMessage}`.trim(), exitCode: -1 };
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode };
}

/** nerdctl against the engine of this e2e run (from a test file: reads the provided `engine`). */
export async function engineNerdctl(args: string[], options: NerdctlOptions = {}): Promise<NerdctlResult> {
  // Imported here, not at the top: the global setup imports this module too, outside any test worker.
  const { inject } = await import("vitest");
  return runEngineNerdctl(inject("engine"), args, options);
}
