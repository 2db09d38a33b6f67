/**
 * nerdctl against the engine under test, from a test file. vitest's provide()
 * passes only serialisable values, so the global setup provides an
 * EngineAccess (how to reach the engine) rather than the provider object.
 */
import { execa } from "execa";
import { dockerCliEnv } from "./dockerd.ts";

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
      /** nerdctld's socket inside the container: what a container of the engine bind-mounts to reach it. */
      daemonSocket: string;
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
    env: dockerCliEnv(access.dockerHost),
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

/** Runs a shell script on the engine's host (this host, or inside the engine container); never throws on a non-zero exit. */
export async function runEngineShell(access: EngineAccess, script: string): Promise<NerdctlResult> {
  const [file, args, env] =
    access.kind === "host"
      ? ["/bin/sh", ["-c", script], {}]
      : [access.docker, ["exec", access.containerId, "/bin/sh", "-c", script], dockerCliEnv(access.dockerHost)];
  const result = await execa(file, args, { env, reject: false, timeout: TIMEOUT_MS, stdin: "ignore" });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}

/** A shell script on the engine's host of this e2e run (from a test file). */
export async function engineShell(script: string): Promise<NerdctlResult> {
  const { inject } = await import("vitest");
  return runEngineShell(inject("engine"), script);
}

/**
 * Where this process reaches the ports the engine publishes: the loopback on
 * the host provider; the engine container's address on its Docker network
 * otherwise (its published ports are the container's own, not the host's).
 */
export async function publishedPortAddress(): Promise<string> {
  const { inject } = await import("vitest");
  const access = inject("engine");
  if (access.kind === "host") return "127.0.0.1";
  const result = await execa(access.docker, ["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", access.containerId], {
    env: dockerCliEnv(access.dockerHost),
    reject: false,
  });
  const address = String(result.stdout).trim().split(" ")[0];
  if (result.exitCode !== 0 || !address) throw new Error(`no address of the engine container: ${String(result.stderr)}`);
  return address;
}
