// A transparent HTTP proxy between the e2e clients and the daemon under test, on a unix socket of
// its own. Every JSON response that passes through is checked against the Docker API spec, so a
// suite that only asserts what the docker CLI prints still catches a response the CLI happened to
// tolerate but another client (dockerode, docker-py, Testcontainers) would choke on.
//
// Bodies stream through untouched: the proxy keeps a copy of a response only while it is JSON and
// small, never holds a response back, and pipes upgraded (hijacked) connections raw both ways.
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { DOCKER_API_OPERATIONS } from "../../lib/docker/api-operations.ts";
import { splitVersion } from "../../lib/server/api-version.ts";
import { RouteTable } from "../../lib/server/resolve.ts";
import { schemaViolations } from "../../lib/testing/api-schema.ts";

export interface Violation {
  method: string;
  /** The request target as the client sent it, version prefix and query included. */
  path: string;
  /** The API operation's path template, e.g. `/images/{name}/json`. */
  template: string;
  status: number;
  problems: string[];
}

export interface ConformanceProxy {
  /** `unix://…` of the proxy: hand this to clients instead of the daemon's. */
  dockerHost: string;
  socketPath: string;
  /** Filled in as responses complete; the same array for the proxy's whole life. */
  violations: Violation[];
  /** JSON responses checked so far (so a run that checked nothing can be told apart from a clean one). */
  checked(): number;
  /** Closes the socket and every connection through it. Idempotent. */
  stop(): Promise<void>;
}

export interface ConformanceProxyOptions {
  /** Where to listen; default a new temporary directory. */
  socketPath?: string;
  /** JSON bodies above this are passed through unchecked. Default 4 MiB. */
  maxJsonBytes?: number;
}

const DEFAULT_MAX_JSON_BYTES = 4 * 1024 * 1024;

// No routes: every known Docker operation resolves to "not-implemented", which names its template.
const OPERATIONS = new RouteTable<never>([], DOCKER_API_OPERATIONS);

/** The API operation template of a request (`/images/{name}/json`), or undefined for a path the API does not have. */
export function operationOf(method: string, url: string): string | undefined {
  const pathname = url.split("?", 1)[0] ?? url;
  const { version, path } = splitVersion(pathname);
  const resolution = OPERATIONS.resolve(method.toUpperCase(), path, version);
  return resolution.kind === "not-implemented" ? resolution.operation.slice(resolution.operation.indexOf(" ") + 1) : undefined;
}

function isJson(contentType: string | string[] | undefined): boolean {
  return typeof contentType === "string" && /^application\/json\s*(;|$)/i.test(contentType);
}

/**
 * The JSON documents of a body: one document, or a newline-separated stream of them (progress,
 * events, stats), each of which the operation's schema describes. Undefined when it is neither.
 */
export function parseJsonDocuments(text: string): unknown[] | undefined {
  try {
    return [JSON.parse(text)];
  } catch {
    // Not one document: maybe a stream of them.
  }
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (lines.length < 2) return undefined;
  try {
    return lines.map((line) => JSON.parse(line) as unknown);
  } catch {
    return undefined;
  }
}

/** The problems of one complete JSON response; empty when it conforms. */
export function checkJsonResponse(method: string, template: string, status: number, text: string): string[] {
  const documents = parseJsonDocuments(text);
  if (!documents) return [`body is not JSON although Content-Type says so: ${JSON.stringify(text.slice(0, 200))}`];
  try {
    return documents.flatMap((document, index) =>
      schemaViolations(method, template, status, document).map((problem) =>
        documents.length > 1 ? `document ${index}: ${problem}` : problem,
      ),
    );
  } catch (error) {
    return [`cannot check against the spec: ${(error as Error).message}`];
  }
}

/** A copy of a response body kept only while it stays under the limit. */
class BodySample {
  #chunks: Buffer[] = [];
  #size = 0;
  overflowed = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    if (this.overflowed) return;
    this.#size += chunk.byteLength;
    if (this.#size > this.limit) {
      this.overflowed = true;
      this.#chunks = [];
      return;
    }
    this.#chunks.push(chunk);
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}

// Hop-by-hop headers belong to one connection; each side of the proxy sets its own.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"]);

function forwardedRequestHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const forwarded: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) || name === "transfer-encoding") forwarded[name] = value;
  // transfer-encoding stays: it tells Node's client to chunk the body it pipes on, as the client did.
  return forwarded;
}

function forwardedResponseHeaders(rawHeaders: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i]!.toLowerCase())) kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return kept;
}

function hasBody(method: string, status: number): boolean {
  return method !== "HEAD" && status !== 204 && status !== 304 && !(status >= 100 && status < 200);
}

export async function startConformanceProxy(
  targetSocket: string,
  options: ConformanceProxyOptions = {},
): Promise<ConformanceProxy> {
  const target = targetSocket.replace(/^unix:\/\//, "");
  const maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
  const ownDir = options.socketPath ? undefined : await mkdtemp(join(tmpdir(), "ncp-"));
  const socketPath = options.socketPath ?? join(ownDir!, "docker.sock");
  const violations: Violation[] = [];
  let checked = 0;
  // With a timeout, Node honours the daemon's Keep-Alive hint and drops an idle socket a second before the daemon
  // closes it; without one, a request can go out on a socket the daemon is closing (ECONNRESET, a 502 here).
  const agent = new Agent({ keepAlive: true, timeout: 600_000 });
  const upgraded = new Set<Duplex>();

  const record = (method: string, path: string, status: number, text: string) => {
    const template = operationOf(method, path);
    // A path the API does not have has no schema to hold it to.
    if (!template || text.trim() === "") return;
    checked++;
    const problems = checkJsonResponse(method, template, status, text);
    if (problems.length > 0) violations.push({ method, path, template, status, problems });
  };

  // requestTimeout 0: an upload (docker load, build context) may take longer than Node's default 5 min.
  const server = createServer({ requestTimeout: 0 });

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const upstream = request({ socketPath: target, method, path, headers: forwardedRequestHeaders(req.headers), agent });
    // The client went away before the response was complete: let the daemon see it go too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on("response", (answer) => {
      const status = answer.statusCode ?? 502;
      res.writeHead(status, answer.statusMessage, forwardedResponseHeaders(answer.rawHeaders));
      // Send the headers now: events, logs -f and wait answer them long before any body.
      res.flushHeaders();
      const sample =
        hasBody(method, status) && isJson(answer.headers["content-type"]) ? new BodySample(maxJsonBytes) : undefined;
      if (sample) answer.on("data", (chunk: Buffer) => sample.add(chunk));
      answer.on("end", () => {
        if (sample && !sample.overflowed && answer.complete) record(method, path, status, sample.text());
      });
      answer.on("error", () => res.destroy());
      answer.on("close", () => {
        if (!answer.complete) res.destroy();
      });
      answer.pipe(res);
    });
    // The client broke off its upload: the daemon must not wait for the rest.
    req.on("error", () => upstream.destroy());
    upstream.on("error", (error) => {
      if (res.destroyed || res.writableEnded) return;
      if (!res.headersSent) {
        res.writeHead(502, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ message: `conformance proxy: cannot reach ${target}: ${error.message}` }));
      } else {
        res.destroy();
      }
    });
    req.pipe(upstream);
  });

  // Upgrade (attach, exec start): a dedicated connection to the daemon that carries the request as
  // the client wrote it, body included, and then whatever either side sends, both ways.
  server.on("upgrade", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const daemon: Socket = connect({ path: target, allowHalfOpen: true });
    upgraded.add(client);
    upgraded.add(daemon);
    const lines = [`${method} ${path} HTTP/${req.httpVersion}`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    daemon.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) daemon.write(head);
    client.pipe(daemon);
    daemon.pipe(client);
    daemon.on("data", sniffUpgradeAnswer(method, path, maxJsonBytes, record));
    // Half-closes travel through pipe(); only a broken side tears down the other.
    client.on("error", () => daemon.destroy());
    daemon.on("error", () => client.destroy());
    client.on("close", (hadError: boolean) => {
      upgraded.delete(client);
      if (hadError || !client.readableEnded) daemon.destroy();
    });
    daemon.on("close", (hadError: boolean) => {
      upgraded.delete(daemon);
      if (hadError) client.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
      agent.destroy();
      await closed;
      if (ownDir) await rm(ownDir, { recursive: true, force: true });
    })());

  return { dockerHost: `unix://${socketPath}`, socketPath, violations, checked: () => checked, stop };
}

/**
 * Watches the daemon's side of an upgrade request. A 101 is left alone (raw bytes follow); any
 * other answer is an ordinary response (an error, typically) whose JSON body is checked.
 */
function sniffUpgradeAnswer(
  method: string,
  path: string,
  maxJsonBytes: number,
  record: (method: string, path: string, status: number, text: string) => void,
): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let state: "head" | "body" | "done" = "head";
  let status = 0;
  let length = 0;
  return (chunk) => {
    if (state === "done") return;
    buffered = Buffer.concat([buffered, chunk]);
    if (state === "head") {
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buffered.byteLength > 64 * 1024) state = "done";
        return;
      }
      const [statusLine = "", ...headerLines] = buffered.subarray(0, end).toString("latin1").split("\r\n");
      status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = new Map(
        headerLines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]),
      );
      const declared = Number(headers.get("content-length"));
      // Only a plain, length-delimited JSON body can be cut out of the raw stream without an HTTP parser.
      if (status === 101 || !isJson(headers.get("content-type")) || headers.has("transfer-encoding") ||
          !Number.isSafeInteger(declared) || declared > maxJsonBytes || !hasBody(method, status)) {
        state = "done";
        return;
      }
      length = declared;
      buffered = buffered.subarray(end + 4);
      state = "body";
    }
    if (buffered.byteLength >= length) {
      state = "done";
      record(method, path, status, buffered.subarray(0, length).toString("utf8"));
    }
  };
}

/** The violations grouped by operation, status and problems, for a failure message a person can read. */
export function formatViolations(violations: readonly Violation[]): string {
  const groups = new Map<string, { violation: Violation; paths: Set<string> }>();
  for (const violation of violations) {
    const key = JSON.stringify([violation.method, violation.template, violation.status, violation.problems]);
    const group = groups.get(key) ?? { violation, paths: new Set<string>() };
    group.paths.add(violation.path);
    groups.set(key, group);
  }
  return [...groups.values()]
    .map(({ violation, paths }) => {
      const seen = [...paths].sort();
      const examples = seen.slice(0, 3).join(", ") + (seen.length > 3 ? `, … (${seen.length} paths)` : "");
      return [
        `${violation.method} ${violation.template} → ${violation.status} (${examples}):`,
        ...violation.problems.map((problem) => `  - ${problem}`),
      ].join("\n");
    })
    .sort()
    .join("\n");
}
