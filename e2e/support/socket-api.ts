/** Raw Docker API requests on a unix socket, each with a deadline: what a hung daemon would miss. */
import { request } from "node:http";
import type { Readable } from "node:stream";

export interface ApiAnswer {
  /** The HTTP status; 0 when no answer came within the deadline (or the connection failed). */
  status: number;
  body: string;
  /** Time to the whole answer, in ms. */
  ms: number;
  /** Why there was no answer. */
  failure?: string;
}

export interface ApiRequest {
  method?: string;
  headers?: Record<string, string>;
  /** JSON (an object), or a stream piped as it is. */
  body?: unknown;
  timeoutMs?: number;
  /** Answers as soon as the body so far passes this (a stream that does not end by itself). */
  until?: (body: string) => boolean;
}

export function api(socketPath: string, path: string, options: ApiRequest = {}): Promise<ApiAnswer> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const streamed = options.body !== undefined && typeof (options.body as Readable).pipe === "function";
  const json = options.body === undefined || streamed ? undefined : JSON.stringify(options.body);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: Omit<ApiAnswer, "ms">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...answer, ms: Date.now() - started });
    };
    const req = request(
      {
        socketPath,
        path,
        // A connection of its own, as the docker CLI makes per command: no idle socket a server may be closing.
        agent: false,
        method: options.method ?? "GET",
        headers: { ...(json === undefined ? {} : { "Content-Type": "application/json" }), ...options.headers },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
          if (options.until?.(body)) {
            finish({ status: res.statusCode ?? 0, body });
            req.destroy();
          }
        });
        res.on("end", () => finish({ status: res.statusCode ?? 0, body }));
        res.on("error", (error) => finish({ status: res.statusCode ?? 0, body, failure: error.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ status: 0, body: "", failure: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on("error", (error) => finish({ status: 0, body: "", failure: error.message }));
    if (streamed) (options.body as Readable).pipe(req);
    else req.end(json);
  });
}

/** The answer's JSON, or undefined when it is not JSON. */
export function jsonOf<T>(answer: ApiAnswer): T | undefined {
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    return undefined;
  }
}

/** The error a client is shown: the answer's {"message"}, or the last {"error"} of a JSON stream; "" when none. */
export function errorMessage(answer: ApiAnswer): string {
  const whole = jsonOf<{ message?: unknown }>(answer);
  if (typeof whole?.message === "string") return whole.message;
  for (const line of answer.body.trim().split("\n").reverse()) {
    const error = jsonOf<{ error?: unknown }>({ ...answer, body: line })?.error;
    if (typeof error === "string") return error;
  }
  return "";
}
