/**
 * Clients that leave mid-stream: each opens one of the daemon's streams —
 * logs -f, events, stats, pull, push, save, load, build, attach, exec start,
 * cp in either direction — and destroys its socket at a random moment after
 * the response started (mid-body for uploads). Bounds, once they are all
 * gone: no nerdctl, ctr or buildctl of theirs left (below the daemon or
 * orphaned), no temporary file or image left, the daemon's descriptors,
 * memory and containerd leases back where they were, and the containers
 * that were attached to and exec'd in still running, as with dockerd.
 *
 * The daemon measured is one of its own on the engine under test (external
 * engine, a namespace of its own), so its process tree holds only what the
 * clients made it start. A short profile by default; NERDCTLD_HARDENING_FULL=1
 * sends the full count and writes its section of e2e/reports/hardening.md.
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { packTar } from "../lib/archive/tar-writer.ts";
import { HARDENING_REPORT, writeReportSection } from "../lib/testing/report-section.ts";
import { pingSocket } from "./support/daemon.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { pushBusybox, startEngineRegistry, type EngineRegistry } from "./support/engine-registry.ts";
import { pseudoRandomChunks, writeBusyboxImage } from "./support/images.ts";
import { ENGINE_PROGRAMS, snapshotProcess, type ProcessEntry, type ProcessSnapshot } from "./support/process-tree.ts";
import { jsonCall, openExchange, type RawRequest } from "./support/raw-client.ts";
import { startSecondDaemon, type SecondDaemon } from "./support/second-daemon.ts";
import { namespaceLeases, removeNamespace, seedNamespace } from "./support/seed.ts";

const FULL = process.env.NERDCTLD_HARDENING_FULL === "1";
const CLIENTS = FULL ? 1_000 : 78;
/** Clients at once: enough to overlap every kind, few enough for two shared cores. */
const CONCURRENCY = 8;
/** Clients before the baseline is taken: three of each kind. */
const WARM_UP = 39;
/**
 * Descriptors the daemon may hold above its baseline afterwards: what Node and
 * libuv open once and keep (a thread pool's, a watcher's), not per client —
 * a leak of one per client would be 78 (short) or 1,000 (full).
 */
const FD_TOLERANCE = 4;
/** The clients come in quarters, the daemon's memory read after each: a leak shows as growth from one to the next. */
const QUARTERS = 4;
/**
 * Resident memory the daemon may hold above its baseline once idle after the
 * last quarter: code V8 compiled for paths the warm-up did not take, a few
 * pages malloc keeps. A leak of 16 KiB per client would be 16 MiB in the full profile.
 */
const RSS_TOLERANCE = 16 * 1024 * 1024;
/** How long the children and descriptors get to go after the last client left. */
const SETTLE_MS = 15_000;
/**
 * How long the daemon is left idle before its memory is read, the lowest of
 * readings every 2 s: V8 shrinks an idle heap on its own schedule (its memory
 * reducer starts some 8 s after allocation stops), not at the last close.
 */
const MEMORY_SETTLE_MS = 30_000;
/** How long the leases of the last killed pulls and loads may take to go: the daemon sweeps them 30 s after the kill. */
const LEASE_SETTLE_MS = 60_000;

const engine = inject("engine");
const namespace = `disc-${randomBytes(4).toString("hex")}`;

type Kind =
  | "logs -f"
  | "events"
  | "stats"
  | "pull"
  | "push"
  | "save"
  | "load (cut body)"
  | "build (cut context)"
  | "build (mid-output)"
  | "attach"
  | "exec start"
  | "cp get"
  | "cp put (cut body)";

interface Plan {
  /** The request; made when the client's turn comes (an exec needs its instance first). */
  request(i: number): Promise<RawRequest>;
  /** Downloads: the longest the client stays after the response started. Uploads leave mid-body. */
  stayMs?: number;
}

let daemon: SecondDaemon;
let registry: EngineRegistry;
let work: string;
let busyboxTar: Buffer;
let context: Buffer;
let upload: Buffer;

const registryRef = (name: string) => `${registry.host}/${namespace}/${name}`;
const call = (method: string, path: string, body?: unknown) => jsonCall(daemon.socketPath, method, path, body);

async function tarOf(entries: Parameters<typeof packTar>[0]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(packTar(entries))) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const filler = (seed: string, size: number) => Buffer.concat([...pseudoRandomChunks(seed, size)]);

const PLANS: Record<Kind, Plan> = {
  "logs -f": { request: async () => ({ method: "GET", path: "/v1.43/containers/chatter/logs?follow=1&stdout=1&stderr=1&tail=5" }), stayMs: 1_000 },
  events: { request: async () => ({ method: "GET", path: "/v1.43/events" }), stayMs: 1_000 },
  stats: { request: async () => ({ method: "GET", path: "/v1.43/containers/chatter/stats?stream=1" }), stayMs: 2_000 },
  pull: { request: async () => ({ method: "POST", path: `/v1.43/images/create?fromImage=${encodeURIComponent(registryRef("busybox"))}&tag=latest` }), stayMs: 1_000 },
  push: {
    request: async () => ({
      method: "POST",
      path: `/v1.43/images/${registryRef("pushed")}/push?tag=latest`,
      headers: { "X-Registry-Auth": Buffer.from("{}").toString("base64url") },
    }),
    stayMs: 1_000,
  },
  save: { request: async () => ({ method: "GET", path: "/v1.43/images/get?names=busybox%3Alatest" }), stayMs: 300 },
  "load (cut body)": { request: async () => ({ method: "POST", path: "/v1.43/images/load", headers: { "Content-Type": "application/x-tar" }, body: busyboxTar, sendBytes: randomCut(busyboxTar.length) }) },
  "build (cut context)": {
    request: async (i) => ({ method: "POST", path: `/v1.43/build?t=${namespace}-build:${i}`, headers: { "Content-Type": "application/x-tar" }, body: context, sendBytes: randomCut(context.length) }),
  },
  "build (mid-output)": {
    request: async (i) => ({
      method: "POST",
      path: `/v1.43/build?t=${namespace}-build:${i}&buildargs=${encodeURIComponent(JSON.stringify({ N: String(i) }))}`,
      headers: { "Content-Type": "application/x-tar" },
      body: context,
    }),
    stayMs: 3_000,
  },
  attach: { request: async () => ({ method: "POST", path: "/v1.43/containers/chatter/attach?stream=1&stdout=1&stderr=1", upgrade: true }), stayMs: 1_000 },
  "exec start": {
    request: async () => {
      const created = await call("POST", "/v1.43/containers/chatter/exec", { AttachStdout: true, AttachStderr: true, Cmd: ["sh", "-c", "for i in $(seq 20); do echo $i; sleep 0.1; done"] });
      if (created.status !== 201) throw new Error(`exec create: ${created.status} ${JSON.stringify(created.body)}`);
      const id = (created.body as { Id: string }).Id;
      return { method: "POST", path: `/v1.43/exec/${id}/start`, headers: { "Content-Type": "application/json" }, body: Buffer.from(JSON.stringify({ Detach: false, Tty: false })), upgrade: true };
    },
    stayMs: 1_500,
  },
  "cp get": { request: async () => ({ method: "GET", path: "/v1.43/containers/chatter/archive?path=%2Fbin" }), stayMs: 200 },
  "cp put (cut body)": { request: async () => ({ method: "PUT", path: "/v1.43/containers/chatter/archive?path=%2Ftmp", headers: { "Content-Type": "application/x-tar" }, body: upload, sendBytes: randomCut(upload.length) }) },
};
const KINDS = Object.keys(PLANS) as Kind[];

function randomCut(length: number): number {
  return 1 + Math.floor(Math.random() * (length - 1));
}

type Outcome = "left mid-stream" | "left mid-body" | "ended before leaving" | "no response";

/** One client: opens its stream and leaves at a random moment; how it went, and the status it saw. */
async function runClient(kind: Kind, i: number): Promise<{ outcome: Outcome; status: number | undefined }> {
  const plan = PLANS[kind];
  const exchange = openExchange(daemon.socketPath, await plan.request(i));
  if (plan.stayMs === undefined) {
    // An upload: gone mid-body, after a moment for the daemon to have begun on it.
    await sleep(Math.random() * 50);
    const ended = exchange.socket.destroyed || exchange.socket.readableEnded;
    exchange.leave();
    return { outcome: ended ? "ended before leaving" : "left mid-body", status: exchange.status() };
  }
  const started = await Promise.race([exchange.started, sleep(30_000, false)]);
  if (!started) {
    exchange.leave();
    return { outcome: "no response", status: undefined };
  }
  // Skewed towards the start: a quick stream (a small pull) is left early too.
  const stay = plan.stayMs * Math.random() ** 2;
  const left = await Promise.race([exchange.closed.then(() => false), sleep(stay, true)]);
  exchange.leave();
  return { outcome: left ? "left mid-stream" : "ended before leaving", status: exchange.status() };
}

/** The kinds in a shuffled order, each as often as the others (within one). */
function schedule(count: number): Kind[] {
  const order = Array.from({ length: count }, (_, i) => KINDS[i % KINDS.length]!);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

type Tally = Map<Kind, Map<string, number>>;

async function runAll(order: Kind[], tally: Tally = new Map(KINDS.map((kind) => [kind, new Map()]))): Promise<Tally> {
  const add = (kind: Kind, key: string) => tally.get(kind)!.set(key, (tally.get(kind)!.get(key) ?? 0) + 1);
  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const i = next++;
      const kind = order[i]!;
      const { outcome, status } = await runClient(kind, i);
      add(kind, outcome);
      add(kind, `status ${status ?? "none"}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return tally;
}

/** Engine programs that were not there at the baseline: below the daemon, or orphans that name its namespace. */
function strays(snapshot: ProcessSnapshot, baseline: ProcessSnapshot): ProcessEntry[] {
  const before = new Set(baseline.all.map((entry) => entry.pid));
  const below = new Set(snapshot.descendants.map((entry) => entry.pid));
  return snapshot.all.filter(
    (entry) => ENGINE_PROGRAMS.has(entry.comm) && !before.has(entry.pid) && (below.has(entry.pid) || entry.cmdline.includes(namespace)),
  );
}

const measure = () => snapshotProcess(engine, daemon.pid);

/** Waits until the clients' children and descriptors are gone (or the settle time is over); the last snapshot and the wait. */
async function settle(baseline: ProcessSnapshot): Promise<{ snapshot: ProcessSnapshot; waitedMs: number }> {
  const start = Date.now();
  let snapshot = await measure();
  while (Date.now() - start < SETTLE_MS && (strays(snapshot, baseline).length > 0 || snapshot.fds > baseline.fds + FD_TOLERANCE)) {
    await sleep(500);
    snapshot = await measure();
  }
  return { snapshot, waitedMs: Date.now() - start };
}

/** The lowest RSS over the memory settle time. */
async function settledRss(): Promise<number> {
  const start = Date.now();
  let lowest = (await measure()).rss;
  while (Date.now() - start < MEMORY_SETTLE_MS) {
    await sleep(2_000);
    lowest = Math.min(lowest, (await measure()).rss);
  }
  return lowest;
}

const tempEntries = async () => (await readdir(daemon.tmpDir)).length;

/** V8's heap in use, in bytes, from the daemon's own metrics: what of its RSS is live JavaScript. */
async function heapUsed(): Promise<number> {
  const announced = /metrics on (http:\/\/\S+)/.exec(await daemon.text())?.[1];
  if (!announced) throw new Error("the daemon did not say where its metrics are");
  const scrape = await daemon.fetchText(announced);
  const line = scrape.split("\n").find((candidate) => candidate.startsWith("nodejs_heap_size_used_bytes "));
  return Number(line?.split(" ")[1]);
}

/** The namespace's image names (what the clients' builds tagged left out: a build may end before its client leaves). */
async function imageNames(): Promise<Set<string>> {
  const listed = await engineNerdctl(["images", "--format", "{{.Repository}}:{{.Tag}}"], { namespace });
  return new Set(listed.stdout.split("\n").map((line) => line.trim()).filter((name) => name && !name.startsWith(`${namespace}-build:`)));
}

async function running(name: string): Promise<boolean> {
  const inspect = await engineNerdctl(["inspect", "--format", "{{.State.Running}}", name], { namespace });
  return inspect.stdout.trim() === "true";
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-disconnects-"));
  await seedNamespace(namespace);
  registry = await startEngineRegistry({ label: "disconnects", work, dockerHost: inject("dockerHost") });
  await pushBusybox(inject("dockerHost"), registryRef("busybox:latest"));
  daemon = await startSecondDaemon(engine, "disconnects", ["--engine", "external", "--namespace", namespace, "--metrics-addr", "127.0.0.1:0"]);
  const created = await call("POST", "/v1.43/containers/create?name=chatter", { Image: "busybox", Cmd: ["sh", "-c", "while true; do date; sleep 0.2; done"] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect((await call("POST", "/v1.43/containers/chatter/start")).status).toBe(204);
  const tagged = await call("POST", `/v1.43/images/busybox/tag?repo=${encodeURIComponent(registryRef("pushed"))}&tag=latest`);
  expect(tagged.status).toBe(201);
  busyboxTar = await readFile((await writeBusyboxImage(join(work, "busybox.tar"))).path);
  context = await tarOf([
    { type: "file", name: "Dockerfile", content: Buffer.from("FROM busybox\nARG N\nCOPY filler /filler\nRUN echo step $N && sleep 2 && echo done $N\n") },
    { type: "file", name: "filler", content: filler("context", 512 * 1024) },
  ]);
  upload = await tarOf([{ type: "file", name: "upload.bin", content: filler("upload", 512 * 1024) }]);
}, 300_000);

afterAll(async () => {
  await daemon?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  await removeNamespace(namespace);
}, 300_000);

/** The figures of attempts that missed a bound: a test that fails is run again, on the same daemon, and the report says so. */
const missedAttempts: string[] = [];

describe("clients that leave mid-stream", () => {
  it(`leave no child, descriptor, temporary file or memory behind, and stop no container (${FULL ? "full" : "short"} profile)`, { timeout: FULL ? 3_600_000 : 600_000 }, async () => {
    // A warm-up at the same concurrency first: what the daemon opens once (a thread pool, a connection)
    // is in the baseline; descriptors and children above it afterwards are per client.
    await runAll(schedule(WARM_UP));
    const warmed = await measure();
    const baseline = (await settle(warmed)).snapshot;
    const rssBefore = await settledRss();
    const heapBefore = await heapUsed();
    const tempBefore = await tempEntries();
    const leasesBefore = (await namespaceLeases(namespace)).length;
    const imagesBefore = await imageNames();

    const tally: Tally = new Map(KINDS.map((kind) => [kind, new Map()]));
    const quarterRss: number[] = [];
    const quarterHeap: number[] = [];
    let clientsMs = 0;
    let settled = { snapshot: baseline, waitedMs: 0 };
    for (let quarter = 0; quarter < QUARTERS; quarter++) {
      const started = Date.now();
      await runAll(schedule(Math.round((CLIENTS * (quarter + 1)) / QUARTERS) - Math.round((CLIENTS * quarter) / QUARTERS)), tally);
      clientsMs += Date.now() - started;
      settled = await settle(baseline);
      quarterRss.push(await settledRss());
      quarterHeap.push(await heapUsed());
    }
    const seconds = clientsMs / 1000;
    const { snapshot: after, waitedMs } = settled;
    const rssAfter = quarterRss.at(-1)!;
    const left = strays(after, baseline);
    const tempAfter = await tempEntries();
    const imagesLeft = [...(await imageNames())].filter((name) => !imagesBefore.has(name));
    const leasesStarted = Date.now();
    let leasesAfter = (await namespaceLeases(namespace)).length;
    while (leasesAfter > leasesBefore && Date.now() - leasesStarted < LEASE_SETTLE_MS) {
      await sleep(2_000);
      leasesAfter = (await namespaceLeases(namespace)).length;
    }
    const leasesWaitedMs = Date.now() - leasesStarted;
    const containersRunning = { chatter: await running("chatter"), web: await running("web") };
    const pings = await pingSocket(daemon.socketPath);

    const count = (kind: Kind, key: string) => tally.get(kind)!.get(key) ?? 0;
    const sent = (kind: Kind) => [...tally.get(kind)!].filter(([key]) => !key.startsWith("status")).reduce((sum, [, n]) => sum + n, 0);
    const rows = KINDS.map((kind) => {
      const statuses = [...tally.get(kind)!].filter(([key]) => key.startsWith("status")).map(([key, n]) => `${key.slice(7)} × ${n}`).join(", ");
      return `| ${kind} | ${sent(kind)} | ${count(kind, "left mid-stream") + count(kind, "left mid-body")} | ${count(kind, "ended before leaving")} | ${count(kind, "no response")} | ${statuses} |`;
    });
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const summary = [
      `- **Figure**: ${CLIENTS} clients in ${seconds.toFixed(0)} s (${CONCURRENCY} at once); afterwards ${left.length} engine programs left, ${tempAfter - tempBefore} temporary entries left, ${imagesLeft.length} images left, containerd leases in the namespace ${leasesBefore} at the baseline and ${leasesAfter} after, descriptors ${baseline.fds} → ${after.fds}, RSS ${mib(rssBefore)} MiB at the baseline, then ${quarterRss.map(mib).join(", ")} MiB after each quarter of the clients (V8's heap in use ${mib(heapBefore)} MiB, then ${quarterHeap.map(mib).join(", ")} MiB), containers attached to and exec'd in running: ${containersRunning.chatter && containersRunning.web ? "yes" : "no"}.`,
      `- **Bound**: 0 nerdctl/ctr/buildctl left within ${SETTLE_MS / 1000} s (found after ${(waitedMs / 1000).toFixed(1)} s), 0 temporary entries left, 0 images left (a name not there at the baseline, the clients' built tags aside), descriptors ≤ baseline + ${FD_TOLERANCE}, containerd leases back to the baseline within ${LEASE_SETTLE_MS / 1000} s (found after ${(leasesWaitedMs / 1000).toFixed(1)} s: a nerdctl killed mid-transfer cannot release its lease, the daemon removes it 30 s after the kill), RSS after the last quarter ≤ the baseline's + ${mib(RSS_TOLERANCE)} MiB (each the lowest of readings every 2 s over ${MEMORY_SETTLE_MS / 1000} s idle), the containers still running, /_ping answered.`,
    ];
    // Leases the sweep left: the daemon's own account of its sweeps, to tell why.
    const sweeps = leasesAfter > leasesBefore ? (await daemon.text()).split("\n").filter((line) => line.includes("lease")) : [];
    console.error(
      [`disconnects (${FULL ? "full" : "short"}, provider ${inject("provider")}):`, ...summary, ...rows, ...left.map((entry) => `left: ${entry.pid} ${entry.cmdline}`), ...imagesLeft.map((name) => `image left: ${name}`), ...sweeps].join("\n"),
    );

    const verdict =
      left.length === 0 && tempAfter === tempBefore && imagesLeft.length === 0 && after.fds <= baseline.fds + FD_TOLERANCE && leasesAfter === leasesBefore && rssAfter <= rssBefore + RSS_TOLERANCE && containersRunning.chatter && containersRunning.web && pings;
    if (FULL) {
      writeReportSection(
        HARDENING_REPORT,
        "3-disconnects",
        [
          "## Disconnects: clients that leave mid-stream",
          "",
          ...summary,
          ...missedAttempts.map((figure, i) => `- **Attempt ${i + 1}, on the same daemon, missed a bound**: ${figure}`),
          `- **Result**: ${verdict ? "pass" : "FAIL"}${missedAttempts.length > 0 ? ` (attempt ${missedAttempts.length + 1})` : ""}.`,
          `- **How**: \`NERDCTLD_HARDENING_FULL=1 npx vitest run --project e2e e2e/disconnects.e2e.test.ts\` (provider ${inject("provider")}). A nerdctld of the test's own (\`--engine external\`, a namespace of its own) on the engine under test; each client opens a raw connection to its socket and, once the response started, destroys it after a random pause skewed towards the start (up to the kind's stay), or, for an upload, destroys it after a random part of the body (a cut image archive, a cut build context, a cut archive for cp). Processes, descriptors and RSS are read from /proc where the daemon runs (the engine container under testcontainers); a left program is a nerdctl, ctr or buildctl not there at the baseline, below the daemon or naming its namespace. The baseline is taken after a warm-up of ${WARM_UP} clients at the same concurrency, so what the daemon opens once is in it. The clients then come in ${QUARTERS} quarters, with ${MEMORY_SETTLE_MS / 1000} s idle after each for the memory reading: once idle for 5 s, the daemon runs a few full collections and hands malloc's free pages back, so what the load took comes back, and a leak per client would show as growth from quarter to quarter. Temporary entries are those of the daemon's TMPDIR.`,
          "",
          "| kind | clients | left mid-stream or mid-body | ended before leaving | no response | statuses seen |",
          "|---|---|---|---|---|---|",
          ...rows,
        ].join("\n"),
      );
    }

    if (!verdict) missedAttempts.push(summary[0]!.replace("- **Figure**: ", ""));
    expect(left.map((entry) => entry.cmdline)).toEqual([]);
    expect(tempAfter).toBe(tempBefore);
    expect(imagesLeft).toEqual([]);
    expect(after.fds).toBeLessThanOrEqual(baseline.fds + FD_TOLERANCE);
    expect(leasesAfter).toBe(leasesBefore);
    expect(rssAfter).toBeLessThanOrEqual(rssBefore + RSS_TOLERANCE);
    expect(containersRunning).toEqual({ chatter: true, web: true });
    expect(pings).toBe(true);
    // Every kind was left mid-way at least once: otherwise the figure would measure nothing of it.
    for (const kind of KINDS) expect(count(kind, "left mid-stream") + count(kind, "left mid-body"), kind).toBeGreaterThan(0);
  });
});
