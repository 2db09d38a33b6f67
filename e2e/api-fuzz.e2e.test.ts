/**
 * Spec-driven fuzzing: schemathesis generates requests from the Docker API
 * v1.43 spec (valid and invalid ones) for every operation and sends them to the
 * daemon over a loopback TCP port, in a containerd namespace of their own that
 * is removed afterwards. Bounds: the daemon answers /_ping throughout and
 * after; no 500 is the daemon's own failure (each must carry the engine's
 * error); no 2xx breaks the spec; operations the daemon does not serve answer
 * 501 (503 for swarm's). A short profile by default; NERDCTLD_HARDENING_FULL=1
 * sends the full count and writes its section of e2e/reports/hardening.md.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { API_SPEC_PATH } from "../lib/testing/api-schema.ts";
import { HARDENING_REPORT, writeReportSection } from "../lib/testing/report-section.ts";
import { checkJsonResponse, operationOf } from "./support/conformance-proxy.ts";
import { pingSocket, REPO_ROOT } from "./support/daemon.ts";
import { removeNamespace } from "./support/namespace.ts";

const FULL = process.env.NERDCTLD_HARDENING_FULL === "1";
/** The full profile's bound: requests sent. */
const FULL_BOUND = 5_000;
/** Test cases per operation asked of schemathesis, and its phases: the coverage phase alone sends some ten thousand. */
const EXAMPLES = FULL ? 30 : 3;
const PHASES = FULL ? "examples,coverage,fuzzing" : "fuzzing";
const SCHEMATHESIS = join(REPO_ROOT, "node_modules", ".cache", "schemathesis", "bin", "st");

/**
 * Operations left out, with why: most would hold their request open until the
 * request timeout (a stream that never ends, a connection taken over), which
 * tests nothing but the timeout; schemathesis cannot make a tar body.
 */
const EXCLUDED: Record<string, string> = {
  "GET /events": "a stream that ends only when the client leaves",
  "POST /containers/{id}/attach": "takes the connection over (101 UPGRADED)",
  "GET /containers/{id}/attach/ws": "a websocket",
  "POST /session": "takes the connection over (BuildKit's session)",
  "POST /images/load": "its body is a tar (application/x-tar), which schemathesis cannot generate",
  "POST /plugins/create": "its body is a tar (application/x-tar), which schemathesis cannot generate",
};

const dockerHost = inject("dockerHost");
const socketPath = dockerHost.replace(/^unix:\/\//, "");
const namespace = `fuzz-${randomBytes(4).toString("hex")}`;

const ping = () => pingSocket(socketPath);

/** A loopback TCP port whose connections go to the daemon's socket, byte for byte. */
async function loopbackPort(): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no TCP port");
  return { server, port: address.port };
}

interface HarEntry {
  request: { method: string; url: string };
  response: { status: number; content?: { text?: string; mimeType?: string; encoding?: string } };
}

/** A 500 the daemon made itself rather than passed on from the engine: a JavaScript error, or a Node system call's. */
const OWN_FAILURE = /\b(TypeError|ReferenceError|RangeError|SyntaxError|AggregateError)\b|Cannot read properties|is not a function|is not iterable|Maximum call stack|Invalid regular expression|^E[A-Z]+: .*, \w+ '|\bERR_[A-Z_]+\b/;

let work: string;
let forward: { server: Server; port: number };

beforeAll(async () => {
  if (!existsSync(SCHEMATHESIS)) throw new Error(`no schemathesis at ${SCHEMATHESIS}: run scripts/setup.sh --for-tests`);
  work = await mkdtemp(join(tmpdir(), "nerdctld-fuzz-"));
  forward = await loopbackPort();
});

afterAll(async () => {
  if (forward) await new Promise((resolve) => forward.server.close(resolve));
  if (work) await rm(work, { recursive: true, force: true });
  // Everything the requests made goes with the namespace.
  await removeNamespace(namespace);
});

describe("spec-driven fuzzing", () => {
  it(`keeps the daemon up, fails nothing of its own and answers 2xx by the spec (${FULL ? "full" : "short"} profile)`, { timeout: FULL ? 3_600_000 : 900_000 }, async () => {
    const har = join(work, "run.har");
    const pings = { sent: 0, failed: 0 };
    let running = true;
    const watch = (async () => {
      while (running) {
        pings.sent++;
        if (!(await ping())) pings.failed++;
        await sleep(2000);
      }
    })();
    const run = await execa(
      SCHEMATHESIS,
      [
        "run",
        API_SPEC_PATH,
        "--url",
        `http://127.0.0.1:${forward.port}/v1.43`,
        "--header",
        `X-Containerd-Namespace: ${namespace}`,
        "--phases",
        PHASES,
        "--checks",
        "not_a_server_error",
        "--max-examples",
        String(EXAMPLES),
        "--seed",
        "43",
        "--no-shrink",
        "--continue-on-failure",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "har",
        "--report-har-path",
        har,
        // Each of these paths has the one method.
        ...Object.keys(EXCLUDED).flatMap((operation) => ["--exclude-path", operation.split(" ")[1]!]),
      ],
      // In the run's own directory: schemathesis keeps the failures it found in ./.schemathesis and replays them next time.
      { cwd: work, reject: false, all: true, env: { NO_COLOR: "1" } },
    );
    running = false;
    await watch;
    const aliveAfter = await ping();

    if (!existsSync(har)) throw new Error(`schemathesis wrote no report (exit ${run.exitCode}):\n${run.all}`);
    const entries = (JSON.parse(await readFile(har, "utf8")) as { log: { entries: HarEntry[] } }).log.entries;
    const statuses = new Map<number, number>();
    const ownFailures: string[] = [];
    const engineFailures = new Map<string, number>();
    const violations: string[] = [];
    const unserved = new Set<string>();
    const served = new Set<string>();
    const requested = new Set<string>();
    for (const entry of entries) {
      const { method } = entry.request;
      const url = new URL(entry.request.url);
      const template = operationOf(method, url.pathname);
      const operation = `${method} ${template ?? url.pathname}`;
      requested.add(operation);
      const status = entry.response.status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const content = entry.response.content;
      const text = content?.encoding === "base64" ? Buffer.from(content.text ?? "", "base64").toString() : (content?.text ?? "");
      if (template) (status === 501 || (status === 503 && /swarm/i.test(text)) ? unserved : served).add(operation);
      if (status === 500) {
        const message = (() => {
          try {
            return String((JSON.parse(text) as { message?: unknown }).message ?? text);
          } catch {
            return text;
          }
        })();
        if (OWN_FAILURE.test(message) || message === "") ownFailures.push(`${operation} ${url.search}: ${message.slice(0, 300)}`);
        else engineFailures.set(`${operation}: ${message.slice(0, 160)}`, (engineFailures.get(`${operation}: ${message.slice(0, 160)}`) ?? 0) + 1);
      }
      if (status >= 200 && status < 300 && template && /^application\/json/.test(content?.mimeType ?? "")) {
        for (const problem of checkJsonResponse(method, template, status, text)) violations.push(`${operation} ${status}: ${problem}`);
      }
    }
    const crashes = pings.failed + (aliveAfter ? 0 : 1);
    const requestedOperations = served.size + [...unserved].filter((operation) => !served.has(operation)).length;

    if (FULL) {
      const verdict = crashes === 0 && ownFailures.length === 0 && violations.length === 0 && entries.length >= FULL_BOUND;
      writeReportSection(
        HARDENING_REPORT,
        "2-fuzzing",
        [
          "## Spec-driven fuzzing (schemathesis)",
          "",
          `- **Figure**: ${entries.length} generated requests over ${requestedOperations} operations of the spec; ${crashes} failed pings of ${pings.sent + 1}, ${ownFailures.length} 500s of the daemon's own, ${violations.length} schema violations on 2xx.`,
          `- **Bound**: at least ${FULL_BOUND} requests; 0 crashes (the daemon answers /_ping every 2 s throughout, and after), 0 500s that are not an engine error's, 0 schema violations on 2xx.`,
          `- **Result**: ${verdict ? "pass" : "FAIL"}.`,
          `- **Statuses**: ${[...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status} × ${count}`).join(", ")}.`,
          `- **How**: \`NERDCTLD_HARDENING_FULL=1 npx vitest run --project e2e e2e/api-fuzz.e2e.test.ts\` (provider ${inject("provider")}). schemathesis (pinned in scripts/setup.sh) runs its ${PHASES} phases (valid and invalid data, ${EXAMPLES} examples per operation, seed 43) from moby's v1.43 spec against a loopback TCP port that carries each connection to the daemon's socket, every request in the containerd namespace \`fuzz-<random>\` (X-Containerd-Namespace), which is pruned and removed afterwards. The HAR it records is read back: a 500 is the daemon's own when its message is a JavaScript or Node system-call error (otherwise it carries nerdctl's error), and every 2xx JSON body is checked against the spec as the conformance proxy checks it.`,
          "",
          "Left out:",
          "",
          ...Object.entries(EXCLUDED).map(([operation, why]) => `- \`${operation}\`: ${why}`),
          "",
          "Operations the daemon does not serve (every answer 501, or 503 for swarm's):",
          "",
          ...[...unserved].filter((operation) => !served.has(operation)).sort().map((operation) => `- \`${operation}\``),
          "",
          "500s carrying the engine's error (count):",
          "",
          ...[...engineFailures].sort().map(([failure, count]) => `- ${count} × ${failure.replace(/\n/g, "\\n")}`),
          ...(ownFailures.length || violations.length ? ["", "Findings:", "", ...[...ownFailures, ...violations].slice(0, 50).map((line) => `- ${line.replace(/\n/g, "\\n")}`)] : []),
        ].join("\n"),
      );
    }

    expect({ pings: pings.failed, aliveAfter }).toEqual({ pings: 0, aliveAfter: true });
    expect(ownFailures).toEqual([]);
    expect(violations).toEqual([]);
    // Every operation of the spec was sent, but those left out.
    const spec = parse(await readFile(API_SPEC_PATH, "utf8")) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.filter((operation) => !requested.has(operation) && !(operation in EXCLUDED))).toEqual([]);
    if (FULL) expect(entries.length).toBeGreaterThanOrEqual(FULL_BOUND);
  });
});
