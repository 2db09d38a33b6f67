import { join } from "node:path";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { H3 } from "h3";
import { beforeAll, describe, expect, it } from "vitest";
import { timestampNano } from "../docker/events.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { EVENTS_ARGS } from "../nerdctl/events.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { commandKey } from "../runner/fixture.ts";
import { ReplayRunner } from "../runner/replay.ts";
import type { Command, CommandRunner, InteractiveCommand, RunOptions, RunResult, RunningCommand } from "../runner/types.ts";
import { EventHub } from "../service/events/hub.ts";
import { FIXTURES_DIR, send, TEST_FACTS } from "../testing/replay-app.ts";
import { createDaemonApp } from "./app.ts";
import { loadRouteFiles } from "./route-files.ts";

/** Replays fixtures; a recorded `nerdctl events` gives its output and then stays open, as the real one does, until killed. */
class HoldingReplay implements CommandRunner {
  spawned = 0;
  killed = 0;
  constructor(readonly inner: ReplayRunner) {}

  run(command: Command, _options?: RunOptions): Promise<RunResult> {
    return this.inner.run(command);
  }

  spawn(command: Command): RunningCommand {
    const child = this.inner.spawn(command);
    this.spawned += 1;
    const stdout = new PassThrough();
    child.stdout.pipe(stdout, { end: false });
    let settle: (result: RunResult) => void = () => {};
    const exited = new Promise<RunResult>((resolve) => (settle = resolve));
    return {
      stdin: child.stdin,
      stdout,
      stderr: child.stderr,
      exited,
      kill: () => {
        this.killed += 1;
        stdout.end();
        settle({ stdout: "", stderr: "", exitCode: 137 });
      },
    };
  }

  interactive(): InteractiveCommand {
    throw new Error("not used by GET /events");
  }
}

let app: H3;
let hub: EventHub;
let runner: HoldingReplay;
/** Recorded times: the first and last event of the stream, in ms. */
let first: number;
let last: number;
let now: number;

beforeAll(async () => {
  const fixtures = [
    ...(await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "events"))).fixtures,
    ...(await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "system"))).fixtures,
  ];
  const stream = fixtures.find((fixture) => commandKey(fixture) === commandKey({ program: "nerdctl", args: EVENTS_ARGS }))!;
  const times = stream.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => Number(timestampNano((JSON.parse(line) as { Timestamp: string }).Timestamp)! / 1_000_000n));
  [first, last] = [times[0]!, times.at(-1)!];
  now = last + 1_000;
  runner = new HoldingReplay(new ReplayRunner(fixtures));
  const nerdctl = new Nerdctl(runner);
  hub = new EventHub(nerdctl, { now: () => now });
  app = createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services: { nerdctl, facts: () => ({ ...TEST_FACTS, eventListeners: hub.listeners }), events: hub },
    daemonVersion: TEST_FACTS.version,
  });
});

const filters = (value: Record<string, string[]>) => encodeURIComponent(JSON.stringify(value));
const seconds = (ms: number) => (ms / 1000).toFixed(9);
const lines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { Type: string; Action: string; status?: string; id?: string; from?: string; Actor: { ID: string; Attributes: Record<string, string> }; time: number; timeNano: number });

describe("GET /events", () => {
  it("streams the engine's events as dockerd's documents, filtered, until `until`, counted in NEventsListener", async () => {
    const response = await send(app, `/v1.43/events?until=${seconds(now + 600)}&filters=${filters({ type: ["container"], event: ["start"] })}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const body = response.text();
    await sleep(100);
    const info = (await (await send(app, "/v1.43/info")).json()) as { NEventsListener: number };
    expect(info.NEventsListener).toBe(1);
    const events = lines(await body);
    expect(events.map((event) => event.Actor.Attributes.name)).toEqual(["ev-web", "ev-once", "ev-exec"]);
    expect(events[0]).toEqual({
      status: "start",
      id: events[0]!.Actor.ID,
      from: "busybox:latest",
      Type: "container",
      Action: "start",
      Actor: { ID: expect.stringMatching(/^[0-9a-f]{64}$/), Attributes: { app: "events", image: "busybox:latest", name: "ev-web" } },
      scope: "local",
      time: expect.any(Number),
      timeNano: expect.any(Number),
    });
    expect(events[0]!.time * 1000).toBeGreaterThanOrEqual(first - 1000);
    expect(runner.spawned).toBe(1);
    // The last subscriber gone, the child keeps running: the daemon owns it.
    await sleep(60);
    expect(runner.killed).toBe(0);
    expect(hub.running()).toBe(true);
    expect(((await (await send(app, "/v1.43/info")).json()) as { NEventsListener: number }).NEventsListener).toBe(0);
  });

  it("replays what it buffered for since/until in the past, and ends without starting nerdctl", async () => {
    const spawned = runner.spawned;
    const response = await send(app, `/v1.43/events?since=${seconds(first - 1)}&until=${seconds(last + 1)}`);
    const events = lines(await response.text());
    expect(runner.spawned).toBe(spawned);
    expect(events.map((event) => `${event.Type} ${event.Action}`)).toEqual(
      expect.arrayContaining(["container create", "container die", "container destroy", "image tag", "image untag", "container exec_die"]),
    );
    expect(events.find((event) => event.Action === "die" && event.Actor.Attributes.name === "ev-once")?.Actor.Attributes.exitCode).toBe("3");
    const times = events.map((event) => event.timeNano);
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const images = lines(await (await send(app, `/v1.43/events?since=${seconds(first - 1)}&until=${seconds(last + 1)}&filters=${filters({ type: ["image"] })}`)).text());
    expect(images.map((event) => `${event.Action} ${event.Actor.Attributes.name}`)).toEqual([
      "tag events-tag:1",
      "untag sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0",
    ]);
    expect(images[0]).toMatchObject({ status: "tag", id: "sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0" });
  });

  it("unsubscribes at once when the client goes away", async () => {
    const abort = new AbortController();
    const response = await send(app, "/v1.43/events", { signal: abort.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    void reader.read().catch(() => {});
    await sleep(20);
    expect(hub.listeners).toBe(1);
    abort.abort();
    await reader.cancel().catch(() => {});
    await sleep(10);
    expect(hub.listeners).toBe(0);
  });

  it.each([
    ["a since that is not a time", "since=yesterday-ish", /invalid since/],
    ["since after until", "since=20&until=10", /`since` time \(20\) cannot be after `until` time \(10\)/],
    ["filters that are not JSON", "filters=%7Bnope", /invalid filter/],
  ])("refuses %s with a 400 before subscribing", async (_label, query, message) => {
    const response = await send(app, `/v1.43/events?${query}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
    expect(hub.listeners).toBe(0);
  });
});
