import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { apiRequest, keepAliveAgent, NOT_IMPLEMENTED } from "./http.ts";

/** What one cell of the latency table holds. */
export type Latency =
  | { kind: "measured"; n: number; p50: number; p95: number; cappedByTime: boolean }
  | { kind: "not-implemented" }
  | { kind: "n/a"; why: string }
  | { kind: "failed"; message: string };

export interface LatencyBudget {
  warmup: number;
  iterations: number;
  /** Stop early (with fewer samples) once this much time went into one cell. */
  timeCapMs: number;
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function summarize(samples: number[], cappedByTime: boolean): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { kind: "measured", n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), cappedByTime };
}

/**
 * Times one operation `iterations` times after `warmup` untimed runs, within a
 * time cap. `once` resolves to null when the operation worked, or to the cell
 * that replaces the measurement (an operation that fails is not a latency).
 */
async function timeLoop(budget: LatencyBudget, once: () => Promise<Latency | null>): Promise<Latency> {
  const deadline = performance.now() + budget.timeCapMs;
  for (let i = 0; i < budget.warmup && performance.now() < deadline; i++) {
    const outcome = await once();
    if (outcome) return outcome;
  }
  const samples: number[] = [];
  while (samples.length < budget.iterations && performance.now() < deadline) {
    const start = performance.now();
    const outcome = await once();
    const elapsed = performance.now() - start;
    if (outcome) return outcome;
    samples.push(elapsed);
  }
  if (samples.length === 0) return { kind: "failed", message: `no sample within the ${budget.timeCapMs} ms cap` };
  return summarize(samples, samples.length < budget.iterations);
}

/** GET `path` over one keep-alive connection; a 501 is reported as such, never timed. */
export async function measureHttp(socketPath: string, path: string, budget: LatencyBudget): Promise<Latency> {
  const agent = keepAliveAgent();
  try {
    return await timeLoop(budget, async () => {
      const res = await apiRequest(agent, socketPath, "GET", path);
      if (res.status === NOT_IMPLEMENTED) return { kind: "not-implemented" };
      if (res.status !== 200) return { kind: "failed", message: `${res.status} ${res.body.toString("utf8").trim().slice(0, 200)}` };
      return null;
    });
  } catch (error) {
    return { kind: "failed", message: (error as Error).message };
  } finally {
    agent.destroy();
  }
}

/** Runs a command to its end, output drained through pipes as nerdctld reads it; resolves to the failure, if any. */
function runToEnd(command: string, args: readonly string[], env: Record<string, string>): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (error) => resolve(error.message));
    child.on("close", (code, signal) => resolve(code === 0 ? null : `exit ${code ?? signal}: ${stderr.trim().slice(0, 200)}`));
  });
}

/** Times a whole CLI invocation (process start to exit), the cost a script calling nerdctl pays. */
export async function measureCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  budget: LatencyBudget,
): Promise<Latency> {
  return timeLoop(budget, async () => {
    const failure = await runToEnd(command, args, env);
    return failure === null ? null : { kind: "failed", message: failure };
  });
}

/** An endpoint of the latency table and what plain nerdctl runs for the same answer. */
export interface LatencyEndpoint {
  label: string;
  path: string;
  /** nerdctl argv for the same data, or null where nerdctl has none. */
  nerdctlArgs: string[] | null;
}

const JSON_FORMAT = "{{json .}}";

/**
 * The table's rows. Versioned at 1.41 (Debian's dockerd 20.10 maximum) so both
 * daemons serve the same API version; /containers/json asks for all
 * containers, as `nerdctl ps -a` lists them.
 */
export const LATENCY_ENDPOINTS: readonly LatencyEndpoint[] = [
  { label: "GET /_ping", path: "/_ping", nerdctlArgs: null },
  { label: "GET /version", path: "/v1.41/version", nerdctlArgs: ["version", "--format", JSON_FORMAT] },
  { label: "GET /info", path: "/v1.41/info", nerdctlArgs: ["info", "--format", JSON_FORMAT] },
  { label: "GET /images/json", path: "/v1.41/images/json", nerdctlArgs: ["images", "--format", JSON_FORMAT] },
  {
    label: "GET /containers/json?all=1",
    path: "/v1.41/containers/json?all=1",
    nerdctlArgs: ["ps", "-a", "--no-trunc", "--format", JSON_FORMAT],
  },
  { label: "GET /volumes", path: "/v1.41/volumes", nerdctlArgs: ["volume", "ls", "--format", JSON_FORMAT] },
  { label: "GET /networks", path: "/v1.41/networks", nerdctlArgs: ["network", "ls", "--format", JSON_FORMAT] },
];

export interface LatencyRow {
  endpoint: LatencyEndpoint;
  nerdctld: Latency;
  nerdctl: Latency;
  dockerd: Latency;
}

export interface LatencyPlan {
  nerdctldSocket: string;
  /** null when no dockerd could be had: its cells say why. */
  dockerdSocket: string | null;
  dockerdMissing: string;
  nerdctl: { path: string; env: Record<string, string> };
  fast: LatencyBudget;
  slow: LatencyBudget;
  log: (line: string) => void;
}

/** Measures every endpoint on every path, one cell at a time so cells do not load each other. */
export async function measureLatencies(plan: LatencyPlan): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const endpoint of LATENCY_ENDPOINTS) {
    // Both daemons answer from memory (nerdctld from the state it keeps): the fast budget; nerdctl processes the slow one.
    const nerdctld = await measureHttp(plan.nerdctldSocket, endpoint.path, plan.fast);
    const nerdctl = endpoint.nerdctlArgs
      ? await measureCommand(plan.nerdctl.path, endpoint.nerdctlArgs, plan.nerdctl.env, plan.slow)
      : ({ kind: "n/a", why: "no nerdctl equivalent" } as const);
    const dockerd = plan.dockerdSocket
      ? await measureHttp(plan.dockerdSocket, endpoint.path, plan.fast)
      : ({ kind: "n/a", why: plan.dockerdMissing } as const);
    plan.log(`latency ${endpoint.label}: nerdctld ${describe(nerdctld)}, nerdctl ${describe(nerdctl)}, dockerd ${describe(dockerd)}`);
    rows.push({ endpoint, nerdctld, nerdctl, dockerd });
  }
  return rows;
}

function describe(cell: Latency): string {
  switch (cell.kind) {
    case "measured":
      return `p50 ${cell.p50.toFixed(2)} ms p95 ${cell.p95.toFixed(2)} ms (n=${cell.n})`;
    case "not-implemented":
      return "501";
    case "n/a":
      return "n/a";
    case "failed":
      return `failed (${cell.message})`;
  }
}
