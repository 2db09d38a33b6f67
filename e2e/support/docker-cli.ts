import { existsSync } from "node:fs";
import { execa } from "execa";

/** The docker CLIs the suites drive: 28.x (API 1.50, downgraded to 1.43) and Debian's 20.10 (API 1.41). */
export const DOCKER_CLIS = [
  { name: "docker-28", path: "/usr/local/bin/docker" },
  { name: "docker-20.10", path: "/usr/bin/docker" },
].filter((cli) => existsSync(cli.path));

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a docker CLI against the daemon under test, with a clean config dir; killed after timeoutMs (exit code -1). */
export async function docker(
  cli: string,
  dockerHost: string,
  args: string[],
  input?: string,
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  const result = await execa(cli, args, {
    env: { DOCKER_HOST: dockerHost, DOCKER_CONFIG: "/tmp/nerdctld-e2e-docker-config", DOCKER_CLI_HINTS: "false", ...env },
    extendEnv: true,
    reject: false,
    input,
    timeout: timeoutMs,
  });
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode ?? -1 };
}
