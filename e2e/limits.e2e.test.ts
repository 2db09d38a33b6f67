/**
 * Limits and observability as the docker CLI meets them: a second nerdctld on
 * the engine under test, with --read-only-api, --metrics-addr, --log-format
 * json and --debug, refuses every change the CLI asks for with Docker's
 * error while its reads work; its log and metrics tell which requests it
 * served and which engine calls each made.
 *
 * Then each limit against its bound, on a nerdctld of its own (a body cap,
 * slow and idle clients, the bound on engine calls, the socket's mode and
 * group, plain TCP off loopback, the read-only mode): the rows of the
 * hardening report's Limits section, written with NERDCTLD_HARDENING_FULL=1.
 */
import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HARDENING_REPORT, writeReportSection } from "../lib/testing/report-section.ts";
import { REPO_ROOT } from "./support/daemon.ts";
import { DOCKER_CLIS, docker } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { ENGINE_PROGRAMS, snapshotProcess } from "./support/process-tree.ts";
import { jsonCall, openExchange, type RawRequest } from "./support/raw-client.ts";
import { startSecondDaemon, type SecondDaemon } from "./support/second-daemon.ts";
import { removeNamespace, seedNamespace } from "./support/seed.ts";

const engine = inject("engine");
const cli = DOCKER_CLIS[0]!.path;
const READ_ONLY = "the API is read-only: nerdctld serves reads only (--read-only-api)";
const FLAGS = ["--engine", "external", "--read-only-api", "--metrics-addr", "127.0.0.1:0", "--log-format", "json", "--debug"];

/** A GET on a unix socket: status, the request id header and the body. */
function get(socketPath: string, path: string): Promise<{ status: number; id: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, id: res.headers["x-request-id"] as string | undefined, body }));
    })
      .on("error", reject)
      .end();
  });
}

/** The value of one series in a scrape. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("a read-only nerdctld, through the docker CLI", () => {
  let daemon: SecondDaemon;
  const cliOn = (args: string[]) => docker(cli, daemon.dockerHost, args);

  beforeAll(async () => {
    daemon = await startSecondDaemon(engine, "limits", FLAGS);
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it("lists, inspects and reads logs as any daemon does", async () => {
    const ps = await cliOn(["ps", "--all", "--format", "{{.Names}}"]);
    expect(ps.exitCode, ps.stderr).toBe(0);
    expect(ps.stdout.split("\n")).toEqual(expect.arrayContaining(["web", "done", "fresh"]));
    const inspect = await cliOn(["inspect", "--format", "{{.State.Running}}", "web"]);
    expect([inspect.exitCode, inspect.stdout.trim()]).toEqual([0, "true"]);
  });

  it("refuses every change with Docker's error, and changes nothing", async () => {
    for (const args of [["run", "--rm", "busybox", "true"], ["stop", "web"], ["rm", "--force", "fresh"], ["exec", "web", "true"], ["tag", "busybox", "ro:refused"], ["volume", "create", "ro-refused"]]) {
      const result = await cliOn(args);
      expect(result.exitCode, args.join(" ")).not.toBe(0);
      expect(result.stderr, args.join(" ")).toContain(`Error response from daemon: ${READ_ONLY}`);
    }
    const names = await engineNerdctl(["ps", "--all", "--format", "{{.Names}}"]);
    expect(names.stdout.split("\n")).toEqual(expect.arrayContaining(["web", "fresh"]));
    const running = await engineNerdctl(["inspect", "--format", "{{.State.Running}}", "web"]);
    expect(running.stdout.trim()).toBe("true");
    expect((await engineNerdctl(["volume", "ls", "--quiet"])).stdout.split("\n")).not.toContain("ro-refused");
  });

  it("answers each request with an id its log lines carry: the request's and its engine calls'", async () => {
    const top = await get(daemon.socketPath, "/v1.43/containers/web/top");
    expect(top.status).toBe(200);
    expect(top.id).toMatch(/^[0-9a-f]{12}$/);
    const mine = (await daemon.log()).filter((record) => record.request_id === top.id);
    expect(mine).toContainEqual(expect.objectContaining({ level: "debug", msg: "request", method: "GET", path: "/v1.43/containers/web/top", status: 200 }));
    expect(mine).toContainEqual(expect.objectContaining({ level: "debug", msg: expect.stringMatching(/^exec nerdctl .*\btop -- \S+.* -> exit 0 in \d+ ms$/) }));
  });

  it("serves its metrics: requests by route template and status, engine calls by verb", async () => {
    const announced = (await daemon.log()).find((record) => /^metrics on http:\/\//.test(String(record.msg)));
    expect(announced).toBeDefined();
    const url = String(announced!.msg).replace(/^metrics on /, "");
    const scrape = await daemon.fetchText(url);
    const requests = (labels: string) => sample(scrape, `nerdctld_http_request_duration_seconds_count{${labels}}`) ?? 0;
    expect(requests('route="/containers/json",method="GET",status="200"')).toBeGreaterThanOrEqual(1);
    expect(requests('route="/containers/create",method="POST",status="403"')).toBeGreaterThanOrEqual(1);
    expect(requests('route="/containers/{id}/top",method="GET",status="200"')).toBeGreaterThanOrEqual(1);
    expect(sample(scrape, 'nerdctld_engine_call_duration_seconds_count{program="nerdctl",verb="top"}')).toBeGreaterThanOrEqual(1);
    // Its own nerdctl events runs as long as the daemon.
    expect(sample(scrape, "nerdctld_engine_children")).toBeGreaterThanOrEqual(1);
  });
});

/** The namespace the limits are measured in: one of their own, so what they make is seen by no other suite. */
const BOUNDS_NAMESPACE = `limits-${randomBytes(4).toString("hex")}`;
/** The rows of the report's Limits section, one per test below. */
const LIMIT_ROWS = 8;
/** Engine calls the bounded daemon runs at once. */
const MAX_CHILDREN = 2;
/** The group its socket is given: a number, so it need not exist where the daemon runs. */
const SOCKET_GID = 4242;
/** The server's header and keep-alive timeouts (60 s), plus the interval it checks them at (30 s), plus slack. */
const SLOW_CLIENT_BOUND_MS = 100_000;
/** A JSON body's stall timeout (60 s), plus slack. */
const STALLED_BODY_BOUND_MS = 75_000;

interface Ending {
  /** The answer's status line, or "nothing". */
  status: string;
  /** From the request sent (or, timedFromAnswer, from the answer's first bytes) to the daemon's close. */
  ms: number;
}

/** Sends a request on a connection of its own, then nothing more: what came back, and when the daemon closed it. */
async function sendAndStall(socketPath: string, raw: RawRequest, timedFromAnswer = false): Promise<Ending> {
  let from = Date.now();
  const exchange = openExchange(socketPath, raw);
  if (timedFromAnswer) void exchange.started.then(() => (from = Date.now()));
  await exchange.closed;
  return { status: exchange.received().toString("latin1").split("\r\n")[0] || "nothing", ms: Date.now() - from };
}

describe("each limit against its bound", () => {
  let daemon: SecondDaemon;
  const rows: string[] = [];
  const row = (limit: string, bound: string, measured: string, pass: boolean) => rows.push(`| ${limit} | ${bound} | ${measured} | ${pass ? "pass" : "FAIL"} |`);

  beforeAll(async () => {
    await seedNamespace(BOUNDS_NAMESPACE);
    daemon = await startSecondDaemon(engine, "bounds", ["--engine", "external", "--max-children", String(MAX_CHILDREN), "-G", String(SOCKET_GID), "--namespace", BOUNDS_NAMESPACE]);
  });
  afterAll(async () => {
    await daemon?.stop();
    await removeNamespace(BOUNDS_NAMESPACE);
    if (process.env.NERDCTLD_HARDENING_FULL !== "1") return;
    writeReportSection(
      HARDENING_REPORT,
      "8-limits",
      [
        "## Limits",
        "",
        `- **Result**: ${rows.length === LIMIT_ROWS && rows.every((line) => line.endsWith("| pass |")) ? "pass" : "FAIL"}.`,
        `- **How**: \`NERDCTLD_HARDENING_FULL=1 npx vitest run --project e2e e2e/limits.e2e.test.ts\` (provider ${inject("provider")}). A nerdctld of the test's own on the engine under test (\`--max-children ${MAX_CHILDREN} -G ${SOCKET_GID}\`), and another with \`--read-only-api\`, both reached through their sockets with raw connections.`,
        "",
        "| limit | bound | measured | result |",
        "|---|---|---|---|",
        ...rows,
      ].join("\n"),
    );
  });

  it("refuses a JSON body over the 4 MiB cap with a 413, and makes nothing", async () => {
    const name = "lim-oversized";
    const body = { Image: "busybox", Cmd: ["true"], Labels: { big: "x".repeat(5 * 1024 * 1024) } };
    const answer = await jsonCall(daemon.socketPath, "POST", `/v1.43/containers/create?name=${name}`, body);
    const listed = (await engineNerdctl(["ps", "--all", "--format", "{{.Names}}"], { namespace: BOUNDS_NAMESPACE })).stdout.split("\n");
    const pass = answer.status === 413 && !listed.includes(name);
    row("JSON body size", "413 over 4 MiB, nothing made", `${answer.status} for 5 MiB: ${JSON.stringify(answer.body)}; container made: ${listed.includes(name) ? "yes" : "no"}`, pass);
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({ message: "request body larger than 4194304 bytes" });
    expect(listed).not.toContain(name);
  });

  it("refuses a container config over the cap with a 413 the docker CLI shows", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ndl-labels-"));
    try {
      const labels = join(dir, "labels");
      // 160 labels of 32 KiB each (the CLI reads a label file line by line, 64 KiB at most): 5 MiB of JSON.
      await writeFile(labels, Array.from({ length: 160 }, (_, i) => `big${i}=${"x".repeat(32 * 1024)}`).join("\n"));
      const result = await docker(cli, daemon.dockerHost, ["create", "--label-file", labels, "busybox", "true"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("Error response from daemon: request body larger than 4194304 bytes");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("answers slow and idle clients within the timeouts: headers never finished, a JSON body that stops, a keep-alive left idle", { timeout: 180_000 }, async () => {
    const [headers, body, idle] = await Promise.all([
      sendAndStall(daemon.socketPath, { method: "GET", path: "/_ping", headersUnfinished: true }),
      sendAndStall(daemon.socketPath, { method: "POST", path: "/v1.43/containers/create", headers: { "Content-Type": "application/json" }, body: Buffer.alloc(1000, " "), sendBytes: 9 }),
      sendAndStall(daemon.socketPath, { method: "GET", path: "/_ping" }, true),
    ]);
    const seconds = (ending: Ending) => `${(ending.ms / 1000).toFixed(1)} s`;
    const headersPass = headers.status.startsWith("HTTP/1.1 408") && headers.ms <= SLOW_CLIENT_BOUND_MS;
    const bodyPass = body.status.startsWith("HTTP/1.1 408") && body.ms <= STALLED_BODY_BOUND_MS;
    const idlePass = idle.status.startsWith("HTTP/1.1 200") && idle.ms <= SLOW_CLIENT_BOUND_MS;
    row("Headers never finished", `408 and closed within ${SLOW_CLIENT_BOUND_MS / 1000} s`, `${headers.status}, closed after ${seconds(headers)}`, headersPass);
    row("JSON body that stops coming", `408 and closed within ${STALLED_BODY_BOUND_MS / 1000} s`, `${body.status}, closed after ${seconds(body)}`, bodyPass);
    row("Keep-alive connection left idle", `closed within ${SLOW_CLIENT_BOUND_MS / 1000} s of its answer`, `${idle.status}, closed after ${seconds(idle)}`, idlePass);
    expect(headers.status).toMatch(/^HTTP\/1\.1 408/);
    expect(headers.ms).toBeLessThanOrEqual(SLOW_CLIENT_BOUND_MS);
    expect(body.status).toMatch(/^HTTP\/1\.1 408/);
    expect(body.ms).toBeLessThanOrEqual(STALLED_BODY_BOUND_MS);
    expect(idle.status).toMatch(/^HTTP\/1\.1 200/);
    expect(idle.ms).toBeLessThanOrEqual(SLOW_CLIENT_BOUND_MS);
  });

  it(`runs at most --max-children ${MAX_CHILDREN} engine calls at once, queues the others and answers them all`, { timeout: 180_000 }, async () => {
    const CREATES = 8;
    const before = new Set((await snapshotProcess(engine, daemon.pid)).descendants.map((entry) => entry.pid));
    let creating = true;
    let peak = 0;
    let samples = 0;
    const sampling = (async () => {
      while (creating) {
        const snapshot = await snapshotProcess(engine, daemon.pid);
        const calls = snapshot.descendants.filter((entry) => entry.ppid === daemon.pid && ENGINE_PROGRAMS.has(entry.comm) && !before.has(entry.pid));
        peak = Math.max(peak, calls.length);
        samples += 1;
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: CREATES }, (_, i) => jsonCall(daemon.socketPath, "POST", `/v1.43/containers/create?name=lim-queued-${i}`, { Image: "busybox", Cmd: ["true"] })),
    );
    creating = false;
    await sampling;
    const created = answers.filter((answer) => answer.status === 201).length;
    const removed = await Promise.all(Array.from({ length: CREATES }, (_, i) => jsonCall(daemon.socketPath, "DELETE", `/v1.43/containers/lim-queued-${i}`)));
    const pass = created === CREATES && peak >= 1 && peak <= MAX_CHILDREN;
    row("Engine calls at once", `≤ ${MAX_CHILDREN} (\`--max-children\`), the rest queued and answered`, `${CREATES} concurrent creates: ${created} answered 201, at most ${peak} engine calls seen at once in ${samples} samples of the daemon's children`, pass);
    expect(answers.map((answer) => answer.status)).toEqual(Array(CREATES).fill(201));
    expect(removed.map((answer) => answer.status)).toEqual(Array(CREATES).fill(204));
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(MAX_CHILDREN);
  });

  it("makes its unix socket mode 0660 with the group it is given", async () => {
    const socket = await stat(daemon.socketPath);
    const mode = socket.mode & 0o777;
    row("Socket permissions", `mode 0660, group ${SOCKET_GID} (\`-G\`)`, `mode 0${mode.toString(8)}, group ${socket.gid}`, mode === 0o660 && socket.gid === SOCKET_GID);
    expect(socket.isSocket()).toBe(true);
    expect(mode).toBe(0o660);
    expect(socket.gid).toBe(SOCKET_GID);
  });

  it("refuses to serve plain TCP off loopback without TLS", async () => {
    const started = await execa(process.execPath, [join(REPO_ROOT, "dist", "bin", "nerdctld.js"), "-H", "tcp://0.0.0.0:0", "--engine", "external"], { reject: false, stdin: "ignore", timeout: 60_000 });
    const refused = started.exitCode !== 0 && /refusing to serve plain TCP on 0\.0\.0\.0/.test(started.stderr);
    row("Plain TCP off loopback", "refused at start without --tlscert/--tlskey (or --allow-insecure-tcp)", `exit ${started.exitCode}: ${started.stderr.trim().split("\n").at(-1)?.replace(/^\S+ nerdctld: /, "")}`, refused);
    expect(started.exitCode).toBe(1);
    expect(started.stderr).toMatch(/refusing to serve plain TCP on 0\.0\.0\.0/);
  });

  it("with --read-only-api, refuses a change with a 403 before anything runs", async () => {
    const readOnly = await startSecondDaemon(engine, "bounds-ro", ["--engine", "external", "--read-only-api", "--namespace", BOUNDS_NAMESPACE]);
    try {
      const refused = await jsonCall(readOnly.socketPath, "POST", "/v1.43/volumes/create", { Name: "lim-read-only" });
      const read = await jsonCall(readOnly.socketPath, "GET", "/v1.43/volumes");
      const volumes = (await engineNerdctl(["volume", "ls", "--quiet"], { namespace: BOUNDS_NAMESPACE })).stdout.split("\n");
      const pass = refused.status === 403 && read.status === 200 && !volumes.includes("lim-read-only");
      row("Read-only mode", "403 to every change, reads answered, nothing changed", `volume create ${refused.status}, volume ls ${read.status}, volume made: ${volumes.includes("lim-read-only") ? "yes" : "no"}`, pass);
      expect(refused).toEqual({ status: 403, body: { message: READ_ONLY } });
      expect(read.status).toBe(200);
      expect(volumes).not.toContain("lim-read-only");
    } finally {
      await readOnly.stop();
    }
  });
});
