import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { DOCKER_CLIS, docker, type CliResult } from "./docker-cli.ts";
import { Terminal } from "./terminal.ts";

/** The containerd namespaces every command is tried in: nerdctl's default and Kubernetes'. */
export const NAMESPACES = ["default", "k8s.io"] as const;

export interface MatrixCell {
  cli: string;
  cliPath: string;
  namespace: (typeof NAMESPACES)[number];
  /** The describe() title the compatibility reporter reads back. */
  title: string;
}

export const MATRIX_PREFIX = "matrix";

/** client × namespace, for describe.each: tests inside are named by the docker command they run. */
export const MATRIX: MatrixCell[] = DOCKER_CLIS.flatMap((cli) =>
  NAMESPACES.map((namespace) => ({
    cli: cli.name,
    cliPath: cli.path,
    namespace,
    title: `${MATRIX_PREFIX} ${cli.name} ${namespace}`,
  })),
);

/** Where scripts/install-buildx.sh puts the buildx plugin. */
export const CLI_PLUGINS_DIR = join(process.env.NERDCTLD_ENGINE_HOME || "/opt/nerdctld-engine", "cli-plugins");

/**
 * Writes a docker CLI config into `dir` that sends the namespace header with
 * every request (`HttpHeaders`, as a user would configure it for a Kubernetes
 * node), finds CLI plugins in `pluginsDir` and holds registry credentials. Written whole, then renamed: a CLI starting meanwhile
 * must never read a half-written config (it would send no namespace header,
 * and work in the default namespace).
 */
export function writeCliConfig(dir: string, namespace: string, options: { pluginsDir?: string; auths?: Record<string, string> } = {}): string {
  mkdirSync(dir, { recursive: true });
  const headers = namespace === "default" ? {} : { "X-Containerd-Namespace": namespace };
  const partial = join(dir, `config.json.${process.pid}`);
  const config = {
    HttpHeaders: headers,
    ...(options.pluginsDir ? { cliPluginsExtraDirs: [options.pluginsDir] } : {}),
    // Registry credentials by host, "user:password" each, as `docker login` stores them.
    ...(options.auths ? { auths: Object.fromEntries(Object.entries(options.auths).map(([host, secret]) => [host, { auth: Buffer.from(secret).toString("base64") }])) } : {}),
  };
  writeFileSync(partial, JSON.stringify(config));
  renameSync(partial, join(dir, "config.json"));
  return dir;
}

/** The namespace's docker CLI config, which also finds the buildx plugin, as a Docker install's CLI does. */
export function configDir(namespace: string): string {
  const dir = join("/tmp", `nerdctld-e2e-docker-config-${namespace}`);
  if (!written.has(dir)) written.add(writeCliConfig(dir, namespace, { pluginsDir: CLI_PLUGINS_DIR }));
  return dir;
}

const written = new Set<string>();

/** Runs the cell's docker CLI in the cell's namespace against the daemon (killed after timeoutMs). */
export function dockerIn(cell: MatrixCell, dockerHost: string, args: string[], input?: string, timeoutMs?: number): Promise<CliResult> {
  return docker(cell.cliPath, dockerHost, args, input, { DOCKER_CONFIG: configDir(cell.namespace) }, timeoutMs);
}

/** The environment the cell's docker CLI runs with. */
function cellEnv(cell: MatrixCell, dockerHost: string): Record<string, string> {
  return { DOCKER_HOST: dockerHost, DOCKER_CONFIG: configDir(cell.namespace), DOCKER_CLI_HINTS: "false" };
}

/** The cell's docker CLI left running (docker attach, logs -f), its output read as it comes; the caller kills it. */
export function dockerChild(cell: MatrixCell, dockerHost: string, args: string[]): ResultPromise<{ reject: false; stdin: "ignore" }> {
  return execa(cell.cliPath, args, { env: cellEnv(cell, dockerHost), extendEnv: true, reject: false, stdin: "ignore" });
}

/** The cell's docker CLI in a terminal of its own (100×30), as a person runs it. */
export function terminalIn(cell: MatrixCell, dockerHost: string, args: string[]): Promise<Terminal> {
  return Terminal.open([cell.cliPath, ...args], { columns: 100, rows: 30, env: cellEnv(cell, dockerHost) });
}
