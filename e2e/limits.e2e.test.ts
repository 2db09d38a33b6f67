/**
 * Limits and observability as the docker CLI meets them: a second nerdctld on
 * the engine under test, with --read-only-api, --metrics-addr, --log-format
 * json and --debug, refuses every change the CLI asks for with Docker's
 * error while its reads work; its log and metrics tell which requests it
 * served and which engine calls each made. And the daemon under test refuses
 * a JSON body over the cap with a 413 the CLI shows.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DOCKER_CLIS, docker } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { startSecondDaemon, type SecondDaemon } from "./support/second-daemon.ts";

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

describe("the daemon under test", () => {
  it("refuses a container config over the 4 MiB cap with a 413 the docker CLI shows", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ndl-labels-"));
    try {
      const labels = join(dir, "labels");
      // 160 labels of 32 KiB each (the CLI reads a label file line by line, 64 KiB at most): 5 MiB of JSON.
      await writeFile(labels, Array.from({ length: 160 }, (_, i) => `big${i}=${"x".repeat(32 * 1024)}`).join("\n"));
      const result = await docker(cli, inject("dockerHost"), ["create", "--label-file", labels, "busybox", "true"]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("Error response from daemon: request body larger than 4194304 bytes");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
