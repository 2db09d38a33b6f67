import { performance } from "node:perf_hooks";
import { Agent, request } from "node:http";

/** A Docker API daemon reached over its unix socket. */
export interface ApiTarget {
  name: string;
  socketPath: string;
}

export interface ApiResponse {
  status: number;
  body: Buffer;
}

/**
 * A keep-alive agent: the benchmark measures the daemon, not connection set-up,
 * so every request after the first reuses a connection. The socket path goes
 * with each request (Node pools connections per socketPath).
 */
export function keepAliveAgent(maxSockets = 1): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

/** One request; the body is read to the end, which is what frees the connection for reuse. */
export function apiRequest(
  agent: Agent,
  socketPath: string,
  method: string,
  path: string,
  options: { timeoutMs?: number; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, socketPath, method, path, headers: { Host: "docker", ...options.headers }, timeout: options.timeoutMs ?? 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${options.timeoutMs ?? 60_000} ms`)));
    req.end(options.body);
  });
}

/** GET a JSON document once, on a throw-away agent (set-up and version queries, not timed). */
export async function getJson<T>(socketPath: string, path: string): Promise<T> {
  const agent = keepAliveAgent();
  try {
    const res = await apiRequest(agent, socketPath, "GET", path);
    if (res.status !== 200) throw new Error(`GET ${path} on ${socketPath}: ${res.status} ${res.body.toString("utf8").trim()}`);
    return JSON.parse(res.body.toString("utf8")) as T;
  } finally {
    agent.destroy();
  }
}

/** The Docker API's "not implemented" answer, which nerdctld gives for operations it has no route for yet. */
export const NOT_IMPLEMENTED = 501;

/** GET a listing once: its size in bytes and how many items it holds. */
export async function listing(socketPath: string, path: string, timeoutMs?: number): Promise<{ bytes: number; count: number; ms: number }> {
  const agent = keepAliveAgent();
  try {
    const start = performance.now();
    const res = await apiRequest(agent, socketPath, "GET", path, { timeoutMs });
    const ms = performance.now() - start;
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body.toString("utf8").trim().slice(0, 200)}`);
    const items = JSON.parse(res.body.toString("utf8")) as unknown[];
    return { bytes: res.body.byteLength, count: items.length, ms };
  } finally {
    agent.destroy();
  }
}
