import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DaemonMetrics } from "./instrumentation.ts";
import { createLogger } from "./log.ts";
import { Nerdctl } from "./nerdctl/client.ts";
import { ROUTES_DIR } from "./package-info.ts";
import { ReplayRunner } from "./runner/replay.ts";
import { createDaemonApp } from "./server/app.ts";
import { listenMetrics } from "./server/metrics-listen.ts";
import { loadRouteFiles } from "./server/route-files.ts";
import { EventHub } from "./service/events/hub.ts";
import { FIXTURES_DIR, send, TEST_FACTS } from "./testing/replay-app.ts";

const routes = await loadRouteFiles(ROUTES_DIR);

/** The daemon's app wired as startDaemon wires it (the replay runner standing for the real one), with --debug. */
async function observedApp(options: { readOnly?: boolean; scenario?: string } = {}) {
  const replay = options.scenario ? await ReplayRunner.fromDirectory(join(FIXTURES_DIR, options.scenario)) : new ReplayRunner([]);
  const records: Record<string, unknown>[] = [];
  const log = createLogger("json", (line) => records.push(JSON.parse(line) as Record<string, unknown>));
  const metrics = new DaemonMetrics({ children: () => 0 });
  const nerdctl = new Nerdctl(metrics.engineRunner(replay, { maxChildren: 4, debugLog: log.debug, crashLog: log.error }));
  const app = createDaemonApp({
    routes,
    services: { nerdctl, facts: () => TEST_FACTS },
    daemonVersion: TEST_FACTS.version,
    observe: metrics.requestObserver(log, true),
    readOnly: options.readOnly,
  });
  return { app, records, metrics, nerdctl, replay };
}

describe("request ids", () => {
  it("answers each request with an id of its own, on success and on error, and logs the request and its engine calls under it", async () => {
    const { app, records } = await observedApp({ scenario: "containers" });
    const found = await send(app, "/v1.43/containers/web/json");
    const missing = await send(app, "/v1.43/containers/nosuch/json");
    expect([found.status, missing.status]).toEqual([200, 404]);
    const ids = [found.headers.get("x-request-id"), missing.headers.get("x-request-id")];
    expect(ids[0]).toMatch(/^[0-9a-f]{12}$/);
    expect(ids[1]).toMatch(/^[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);

    const requests = records.filter((record) => record.msg === "request");
    expect(requests).toEqual([
      expect.objectContaining({ level: "debug", method: "GET", path: "/v1.43/containers/web/json", status: 200, duration_ms: expect.any(Number), request_id: ids[0] }),
      expect.objectContaining({ level: "debug", method: "GET", path: "/v1.43/containers/nosuch/json", status: 404, request_id: ids[1], error: "No such container: nosuch" }),
    ]);
    const engineCalls = (id: string | null | undefined) =>
      records.filter((record) => record.request_id === id && String(record.msg).startsWith("exec nerdctl")).map((record) => record.msg);
    expect(engineCalls(ids[0])).toContainEqual(expect.stringMatching(/^exec nerdctl container inspect -- web -> exit 0 in \d+ ms$/));
    expect(engineCalls(ids[1])).toContainEqual(expect.stringMatching(/^exec nerdctl container inspect -- nosuch -> exit 1 in \d+ ms$/));
  });
});

describe("nerdctl's crashes in the log", () => {
  it("have their trace logged once per place that crashes, as the request's that met it", async () => {
    // nerdctl 2.3.5 panics on an image whose history has no dates: in `image inspect` (of the listed containers' images) and `image history`.
    const { app, records } = await observedApp({ scenario: "images-undated" });
    const listed = await send(app, "/v1.43/containers/json?all=1");
    const history = await send(app, "/v1.43/images/e2e/undated:1/history");
    const again = await send(app, "/v1.43/images/e2e/undated:1/history");
    expect([listed.status, history.status, again.status]).toEqual([200, 200, 200]);
    const crashes = records.filter((record) => record.level === "error" && String(record.msg).startsWith("nerdctl crashed"));
    const first = (record: Record<string, unknown>) => String(record.msg).split("\n")[0];
    expect(crashes.map((record) => [first(record), record.request_id])).toEqual([
      [expect.stringMatching(/^nerdctl crashed: runtime error: invalid memory address or nil pointer dereference \(nerdctl image inspect .*\)$/), listed.headers.get("x-request-id")],
      [expect.stringMatching(/^nerdctl crashed: runtime error: .* \(nerdctl image history .*\)$/), history.headers.get("x-request-id")],
      [expect.stringMatching(/\(again; its trace is above\)$/), again.headers.get("x-request-id")],
    ]);
    expect(crashes[0]!.msg).toContain("dockercompat.ImageFromNative");
    expect(crashes[1]!.msg).toContain("image.(*historyPrinter).printHistory");
  });
});

/** The value of one series in a scrape. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("GET /metrics", () => {
  it("counts requests by route template, method and status, engine calls by verb, and event source restarts", async () => {
    const { app, metrics, nerdctl } = await observedApp({ scenario: "containers" });
    await send(app, "/v1.43/containers/web/json");
    await send(app, "/v1.43/containers/done/json");
    await send(app, "/v1.43/containers/nosuch/json");
    await send(app, "/v1.43/no/such/path");
    // A namespace's nerdctl events that cannot start is started again (none was recorded here).
    const events = new EventHub(nerdctl, { restarting: metrics.eventSourceRestart });
    events.start();
    events.close();

    const served = await listenMetrics("127.0.0.1:0", () => metrics.registry.render());
    try {
      const response = await fetch(`http://${served.address}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const scrape = await response.text();
      const requests = (labels: string) => sample(scrape, `nerdctld_http_request_duration_seconds_count{${labels}}`);
      expect(requests('route="/containers/{id}/json",method="GET",status="200"')).toBe(2);
      expect(requests('route="/containers/{id}/json",method="GET",status="404"')).toBe(1);
      expect(requests('route="other",method="GET",status="404"')).toBe(1);
      expect(sample(scrape, 'nerdctld_http_request_duration_seconds_bucket{route="/containers/{id}/json",method="GET",status="200",le="+Inf"}')).toBe(2);
      expect(scrape).not.toContain("/containers/web/json");
      expect(sample(scrape, 'nerdctld_engine_call_duration_seconds_count{program="nerdctl",verb="container inspect"}')).toBeGreaterThanOrEqual(3);
      expect(sample(scrape, 'nerdctld_engine_call_failures_total{program="nerdctl",verb="container inspect"}')).toBeGreaterThanOrEqual(1);
      expect(sample(scrape, 'nerdctld_event_source_restarts_total{namespace="default"}')).toBe(1);
      expect(sample(scrape, "nerdctld_engine_children")).toBe(0);
      expect(sample(scrape, "nerdctld_engine_calls_queued")).toBe(0);
      // The daemon's own memory: resident, and V8's heap within it.
      const heapTotal = sample(scrape, "nodejs_heap_size_total_bytes")!;
      expect(sample(scrape, "process_resident_memory_bytes")).toBeGreaterThan(heapTotal);
      expect(heapTotal).toBeGreaterThanOrEqual(sample(scrape, "nodejs_heap_size_used_bytes")!);
      expect(sample(scrape, "nodejs_external_memory_bytes")).toBeGreaterThan(0);
      expect((await fetch(`http://${served.address}/other`)).status).toBe(404);
      expect((await fetch(`http://${served.address}/metrics`, { method: "POST" })).status).toBe(405);
    } finally {
      await served.close();
    }
  });

  it("listens on the loopback address when the host is left out", async () => {
    const served = await listenMetrics(":0", () => "");
    try {
      expect(served.address).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await served.close();
    }
  });
});

describe("--read-only-api", () => {
  const READ_ONLY = { message: "the API is read-only: nerdctld serves reads only (--read-only-api)" };
  const pathOf = (template: string) => `/v1.43${template.replace(/\{\w+\}/, "x")}`;

  it("refuses every call of every registered route that is not GET or HEAD with a 403, before any engine call", async () => {
    const { app, replay } = await observedApp({ readOnly: true });
    const writes = routes.filter((route) => route.method !== "GET" && route.method !== "HEAD");
    const served = writes.map((route) => `${route.method} ${route.template.text}`);
    for (const write of ["POST /containers/create", "POST /containers/{id}/attach", "POST /exec/{id}/start", "PUT /containers/{id}/archive", "DELETE /images/{name}", "POST /build", "POST /session", "POST /grpc"]) {
      expect(served).toContain(write);
    }
    for (const route of writes) {
      const response = await send(app, pathOf(route.template.text), { method: route.method, body: route.method === "DELETE" ? undefined : "{}" });
      expect([route.method, route.template.text, response.status, await response.json()]).toEqual([route.method, route.template.text, 403, READ_ONLY]);
    }
    // Operations nerdctld does not serve, and unknown paths, are refused the same way.
    for (const [method, path] of [["POST", "/networks/x/connect"], ["PUT", "/no/such/path"]] as const) {
      expect((await send(app, `/v1.43${path}`, { method })).status).toBe(403);
    }
    expect(replay.calls).toEqual([]);
  });

  it("serves reads as before", async () => {
    const { app } = await observedApp({ readOnly: true, scenario: "containers" });
    expect((await send(app, "/_ping")).status).toBe(200);
    expect((await send(app, "/_ping", { method: "HEAD" })).status).toBe(200);
    expect((await send(app, "/v1.43/containers/web/json")).status).toBe(200);
    expect((await send(app, "/v1.43/containers/nosuch/json")).status).toBe(404);
  });
});

describe("the request log without --debug", () => {
  it("has a line only for the requests that failed on the daemon's side, at level error", () => {
    const records: Record<string, unknown>[] = [];
    const log = createLogger("json", (line) => records.push(JSON.parse(line) as Record<string, unknown>));
    const observe = new DaemonMetrics({ children: () => 0 }).requestObserver(log, false);
    const served = (status: number) => ({ id: `id${status}`, method: "GET", path: "/x", route: "/x", status, durationMs: 1 });
    for (const status of [200, 404, 500, 501, 502, 503]) observe(served(status));
    expect(records.map((record) => [record.level, record.status, record.request_id])).toEqual([
      ["error", 500, "id500"],
      ["error", 502, "id502"],
    ]);
  });
});
