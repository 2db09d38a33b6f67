import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import type { Volume } from "../docker/volumes.ts";
import type { ReplayRunner } from "../runner/replay.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { replayApp, send } from "../testing/replay-app.ts";

let app: H3;
let runner: ReplayRunner;
/** Replays the recorded changes; its tests run in the order they were recorded. */
let changes: H3;
beforeAll(async () => {
  ({ app, runner } = await replayApp("volumes"));
  ({ app: changes } = await replayApp("volumes-changes"));
});

async function json<T>(response: Response, status: number): Promise<T> {
  expect(response.status).toBe(status);
  return (await response.json()) as T;
}

describe("volumes", () => {
  it("GET /volumes lists every volume, local, with labels, in Docker's shape", async () => {
    const body = await json<{ Volumes: Volume[]; Warnings: null }>(await send(app, "/v1.43/volumes"), 200);
    expect(schemaViolations("GET", "/volumes", 200, body)).toEqual([]);
    const names = body.Volumes.map((volume) => volume.Name);
    expect(names).toEqual(expect.arrayContaining(["data", "spare", "labelled"]));
    expect(names.some((name) => /^[0-9a-f]{64}$/.test(name))).toBe(true);
    const labelled = body.Volumes.find((volume) => volume.Name === "labelled")!;
    expect(labelled).toMatchObject({ Driver: "local", Scope: "local", Labels: { "tier": "db" }, Options: {} });
  });

  it("GET /volumes filters by name, label and dangling as dockerd does", async () => {
    const names = async (filters: object) => {
      const body = await json<{ Volumes: Volume[] }>(await send(app, `/volumes?filters=${encodeURIComponent(JSON.stringify(filters))}`), 200);
      return body.Volumes.map((volume) => volume.Name).filter((name) => !/^[0-9a-f]{64}$/.test(name)).sort();
    };
    expect(await names({ name: ["^spa"] })).toEqual(["spare"]);
    expect(await names({ label: ["tier=db"] })).toEqual(["labelled"]);
    expect(await names({ dangling: ["true"] })).toEqual(["labelled", "spare"]);
    expect(await names({ dangling: ["false"] })).toEqual(["data"]);
    expect(await names({ driver: ["local"] })).toEqual(["data", "labelled", "spare"]);
    expect(await names({ driver: ["nfs"] })).toEqual([]);
  });

  it("GET /volumes/{name} inspects one, 404 with Docker's words otherwise", async () => {
    const data = await json<Volume>(await send(app, "/v1.43/volumes/data"), 200);
    expect(schemaViolations("GET", "/volumes/{name}", 200, data)).toEqual([]);
    expect(data.Mountpoint).toMatch(/\/volumes\/default\/data\/_data$/);
    const missing = await json<{ message: string }>(await send(app, "/v1.43/volumes/nosuch"), 404);
    expect(missing.message).toBe("get nosuch: no such volume");
  });

  it("POST /volumes/create makes a volume with labels (201)", async () => {
    const response = await send(changes, "/v1.43/volumes/create", {
      method: "POST",
      body: JSON.stringify({ Name: "made", Labels: { made: "here" } }),
    });
    const made = await json<Volume>(response, 201);
    expect(schemaViolations("POST", "/volumes/create", 201, made)).toEqual([]);
    expect(made).toMatchObject({ Name: "made", Driver: "local", Labels: { made: "here" } });
  });

  it.each([
    [{ Name: "x", Driver: "nfs" }, /only the local driver/],
    [{ Name: "x", DriverOpts: { type: "tmpfs" } }, /driver options are not supported/],
    [{ Name: "--help" }, /invalid volume name/],
    [{ Name: "x", Labels: { a: 1 } }, /Labels must be an object of strings/],
  ])("POST /volumes/create refuses %j before nerdctl runs", async (body, message) => {
    const before = runner.calls.length;
    const response = await send(app, "/volumes/create", { method: "POST", body: JSON.stringify(body) });
    expect((await json<{ message: string }>(response, 400)).message).toMatch(message);
    expect(runner.calls.length).toBe(before);
  });

  it("DELETE /volumes/{name}: 204, 409 when a container uses it, 404 when missing", async () => {
    expect((await send(changes, "/v1.43/volumes/made", { method: "DELETE" })).status).toBe(204);
    expect((await send(changes, "/v1.43/volumes/data", { method: "DELETE" })).status).toBe(409);
    expect((await send(changes, "/v1.43/volumes/nosuch", { method: "DELETE" })).status).toBe(404);
  });

  it("POST /volumes/prune removes unused volumes the filters select and says how much it freed", async () => {
    const filters = encodeURIComponent('{"label":["tier=db"],"all":["true"]}');
    const body = await json<{ VolumesDeleted: string[]; SpaceReclaimed: number }>(
      await send(changes, `/v1.43/volumes/prune?filters=${filters}`, { method: "POST" }),
      200,
    );
    expect(schemaViolations("POST", "/volumes/prune", 200, body)).toEqual([]);
    expect(body).toEqual({ VolumesDeleted: ["labelled"], SpaceReclaimed: expect.any(Number) });
  });

  it("POST /volumes/prune before API 1.42 removes unused named volumes too, as dockerd 20.10 did", async () => {
    const body = await json<{ VolumesDeleted: string[] }>(await send(changes, "/v1.41/volumes/prune", { method: "POST" }), 200);
    expect(body.VolumesDeleted).toEqual(["spare"]);
  });

  it("announces what it changed, and only that, as dockerd's volume events", async () => {
    // An `until` already past when the request comes: the buffer is replayed, and no engine stream starts.
    const until = (Date.now() / 1000).toFixed(3);
    await sleep(5);
    const response = await send(changes, `/v1.43/events?since=0&until=${until}`);
    const events = (await response.text()).split("\n").filter(Boolean).map((line) => JSON.parse(line) as { Type: string; Action: string; Actor: object });
    expect(events.map(({ Type, Action, Actor }) => ({ Type, Action, Actor }))).toEqual([
      { Type: "volume", Action: "create", Actor: { ID: "made", Attributes: { driver: "local" } } },
      { Type: "volume", Action: "destroy", Actor: { ID: "made", Attributes: { driver: "local" } } },
      { Type: "volume", Action: "destroy", Actor: { ID: "labelled", Attributes: { driver: "local" } } },
      { Type: "volume", Action: "destroy", Actor: { ID: "spare", Attributes: { driver: "local" } } },
    ]);
  });
});
