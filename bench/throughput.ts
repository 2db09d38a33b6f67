import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { apiRequest, keepAliveAgent, NOT_IMPLEMENTED } from "./http.ts";

export type Throughput =
  | { kind: "measured"; requests: number; errors: number; seconds: number; perSecond: number }
  | { kind: "not-implemented" }
  | { kind: "n/a"; why: string }
  | { kind: "failed"; message: string };

export interface ThroughputOptions {
  clients: number;
  durationMs: number;
  /** The same load first for this long, not counted: what a JIT compiles under load is compiled before the clock starts, for either daemon. */
  warmupMs: number;
  /** Upper bound on requests per client, so a loop can never run away even on a broken clock. */
  maxRequestsPerClient: number;
}

/**
 * `clients` concurrent callers, each on its own keep-alive connection, each
 * sending the next request as soon as the previous answer is read, for a fixed
 * duration. Requests in flight at the deadline are awaited and counted, and the
 * rate is over the time until the last one ended. A warm-up of the same load
 * comes first, not counted.
 */
export async function measureThroughput(socketPath: string, path: string, options: ThroughputOptions): Promise<Throughput> {
  const agent = keepAliveAgent(options.clients);
  try {
    const probe = await apiRequest(agent, socketPath, "GET", path);
    if (probe.status === NOT_IMPLEMENTED) return { kind: "not-implemented" };
    if (probe.status !== 200) return { kind: "failed", message: `${probe.status} ${probe.body.toString("utf8").trim().slice(0, 200)}` };

    const load = async (durationMs: number) => {
      let requests = 0;
      let errors = 0;
      let firstError = "";
      const start = performance.now();
      const deadline = start + durationMs;
      const client = async () => {
        for (let i = 0; i < options.maxRequestsPerClient && performance.now() < deadline; i++) {
          try {
            const res = await apiRequest(agent, socketPath, "GET", path, { timeoutMs: 30_000 });
            if (res.status === 200) requests++;
            else {
              errors++;
              firstError ||= `${res.status} ${res.body.toString("utf8").trim().slice(0, 200)}`;
            }
          } catch (error) {
            errors++;
            firstError ||= (error as Error).message;
            // A refused or reset connection fails at once; do not spin on it.
            await sleep(10);
          }
        }
      };
      await Promise.all(Array.from({ length: options.clients }, client));
      return { requests, errors, firstError, seconds: (performance.now() - start) / 1000 };
    };
    await load(options.warmupMs);
    const { requests, errors, firstError, seconds } = await load(options.durationMs);
    if (requests === 0) return { kind: "failed", message: firstError || "no request completed" };
    return { kind: "measured", requests, errors, seconds, perSecond: requests / seconds };
  } catch (error) {
    return { kind: "failed", message: (error as Error).message };
  } finally {
    agent.destroy();
  }
}
