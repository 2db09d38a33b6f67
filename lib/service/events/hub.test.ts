import { join } from "node:path";
import { PassThrough } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseEventFilters, parseEventQuery, timestampNano, type DockerEvent, type EventQuery } from "../../docker/events.ts";
import { Nerdctl } from "../../nerdctl/client.ts";
import { EVENTS_ARGS } from "../../nerdctl/events.ts";
import { commandKey, type Fixture } from "../../runner/fixture.ts";
import { ReplayRunner } from "../../runner/replay.ts";
import type { Command, CommandRunner, InteractiveCommand, RunResult, RunningCommand } from "../../runner/types.ts";
import { FIXTURES_DIR } from "../../testing/replay-app.ts";
import type { EventSubscription } from "./bus.ts";
import { EventHub, type EventHubOptions } from "./hub.ts";
import { SlowSubscriberError } from "./subscriber.ts";

/** The recorded `nerdctl events` lines (fixtures/events), to feed fake children. */
let recordedLines: string[];
let firstTime: number;
beforeAll(async () => {
  const fixtures = (await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "events"))).fixtures as Fixture[];
  const stream = fixtures.find((fixture) => commandKey(fixture) === commandKey({ program: "nerdctl", args: EVENTS_ARGS }))!;
  recordedLines = stream.stdout.split("\n").filter((line) => line.trim() !== "");
  firstTime = Number(timestampNano((JSON.parse(recordedLines[0]!) as { Timestamp: string }).Timestamp)! / 1_000_000n);
});

/** A recorded line that is a container event (the translator needs no lookup for these). */
function lineFor(topic: string, namespace = "default"): string {
  const line = recordedLines.find((candidate) => (JSON.parse(candidate) as { Topic: string }).Topic === topic)!;
  return JSON.stringify({ ...(JSON.parse(line) as object), Namespace: namespace });
}

interface FakeChild {
  command: Command;
  stdout: PassThrough;
  killed: boolean;
  exit(code: number, stderr?: string): void;
}

/** A runner whose `nerdctl events` children the test drives; every other call answers empty. */
class FakeRunner implements CommandRunner {
  readonly children: FakeChild[] = [];
  readonly calls: Command[] = [];

  async run(command: Command): Promise<RunResult> {
    this.calls.push(command);
    return { stdout: "", stderr: "", exitCode: 0 };
  }

  spawn(command: Command): RunningCommand {
    this.calls.push(command);
    const stdout = new PassThrough();
    let settle: (result: RunResult) => void = () => {};
    const exited = new Promise<RunResult>((resolve) => (settle = resolve));
    const child: FakeChild = {
      command,
      stdout,
      killed: false,
      exit: (code, stderr = "") => {
        stdout.end();
        settle({ stdout: "", stderr, exitCode: code });
      },
    };
    this.children.push(child);
    return {
      stdin: new PassThrough(),
      stdout,
      stderr: new PassThrough(),
      exited,
      kill: () => {
        child.killed = true;
        child.exit(137);
      },
    };
  }

  interactive(): InteractiveCommand {
    throw new Error("not used by the event hub");
  }

  live(): FakeChild[] {
    return this.children.filter((child) => !child.killed);
  }
}

let hubs: EventHub[] = [];
afterEach(() => {
  for (const hub of hubs) hub.close();
  hubs = [];
});

function setup(options: EventHubOptions = {}) {
  const runner = new FakeRunner();
  let now = firstTime;
  const nerdctl = new Nerdctl(runner);
  const hub = new EventHub(nerdctl, { minUptimeMs: 1_000, restartDelayMs: 10, now: () => now, ...options });
  hubs.push(hub);
  return { runner, hub, nerdctl, events: hub.in(undefined), setNow: (ms: number) => (now = ms) };
}

const query = (raw: Record<string, string> = {}): EventQuery => parseEventQuery(raw, firstTime);

/** Reads a subscription in the background; `events` fills as they come, `ended` settles with the error if any. */
function read(subscription: EventSubscription) {
  const events: DockerEvent[] = [];
  const ended = (async () => {
    try {
      for await (const event of subscription) events.push(event);
      return undefined;
    } catch (error) {
      return error as Error;
    }
  })();
  return { events, ended };
}

async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}

describe("one nerdctl events per namespace, shared", () => {
  it("starts on the first subscriber, serves every subscriber from it, and counts them", async () => {
    const { runner, hub, events } = setup();
    expect(runner.children).toHaveLength(0);
    const a = read(events.subscribe(query()));
    const b = read(events.subscribe(query()));
    expect(runner.children).toHaveLength(1);
    expect(runner.children[0]!.command.args).toEqual(["events", "--format", "{{json .}}"]);
    expect(hub.listeners).toBe(2);
    runner.children[0]!.stdout.write(`${lineFor("/tasks/start")}\n\n`);
    await until(() => a.events.length === 1 && b.events.length === 1);
    expect(a.events[0]).toMatchObject({ Type: "container", Action: "start" });
  });

  it("keeps running when the last subscriber leaves (the daemon owns it), and serves the next one from it", async () => {
    const { runner, hub, events } = setup();
    const first = events.subscribe(query());
    read(first);
    first.close();
    expect(hub.listeners).toBe(0);
    expect(runner.live()).toHaveLength(1);
    const second = events.subscribe(query());
    read(second);
    await sleep(150);
    expect(runner.children).toHaveLength(1);
    expect(runner.live()).toHaveLength(1);
    second.close();
    await sleep(50);
    expect(runner.live()).toHaveLength(1);
    expect(hub.running()).toBe(true);
  });

  it("starts the daemon's own namespace with the daemon, before anyone listens", () => {
    const { runner, hub } = setup();
    hub.start();
    expect(runner.children.map((child) => child.command.args)).toEqual([["events", "--format", "{{json .}}"]]);
    expect(hub.running()).toBe(true);
    expect(hub.running("k8s.io")).toBe(false);
  });

  it("keeps namespaces apart: one child each, and only the namespace's own events", async () => {
    const { runner, hub, events } = setup();
    const plain = read(events.subscribe(query()));
    const k8s = read(hub.in("k8s.io").subscribe(query()));
    expect(runner.children.map((child) => child.command.args.slice(0, 3))).toEqual([
      ["events", "--format", "{{json .}}"],
      ["--namespace", "k8s.io", "events"],
    ]);
    // nerdctl prints every namespace's events whatever --namespace says.
    for (const child of runner.children) child.stdout.write(`${lineFor("/tasks/start", "k8s.io")}\n${lineFor("/tasks/paused", "default")}\n`);
    await until(() => plain.events.length === 1 && k8s.events.length === 1);
    await sleep(20);
    expect(plain.events.map((event) => event.Action)).toEqual(["pause"]);
    expect(k8s.events.map((event) => event.Action)).toEqual(["start"]);
  });

  it("a client leaving unsubscribes at once", async () => {
    const { hub, events } = setup();
    const subscription = events.subscribe(query());
    const reader = read(subscription);
    expect(hub.listeners).toBe(1);
    subscription.close();
    expect(hub.listeners).toBe(0);
    expect(await reader.ended).toBeUndefined();
  });
});

describe("since and until", () => {
  it("replays the buffered events in range, then ends when until is past, without starting anything", async () => {
    const { runner, hub, events, setNow } = setup();
    const live = read(events.subscribe(query()));
    const start = lineFor("/tasks/start");
    const pause = lineFor("/tasks/paused");
    runner.children[0]!.stdout.write(`${start}\n${pause}\n`);
    await until(() => live.events.length === 2);
    const [startTime, pauseTime] = live.events.map((event) => event.timeNano);
    setNow(Number(pauseTime! / 1_000_000n) + 60_000);

    const all = read(events.subscribe({ since: 0n, until: pauseTime!, filters: parseEventFilters(undefined) }));
    expect(await all.ended).toBeUndefined();
    expect(all.events.map((event) => event.Action)).toEqual(["start", "pause"]);
    const later = read(events.subscribe({ since: startTime! + 1n, until: pauseTime!, filters: parseEventFilters(undefined) }));
    await later.ended;
    expect(later.events.map((event) => event.Action)).toEqual(["pause"]);
    const filtered = read(events.subscribe({ since: 0n, until: pauseTime!, filters: parseEventFilters('{"event":["start"]}') }));
    await filtered.ended;
    expect(filtered.events.map((event) => event.Action)).toEqual(["start"]);
    expect(runner.children).toHaveLength(1);
  });

  it("without since or until, replays nothing", async () => {
    const { runner, hub, events } = setup();
    const first = read(events.subscribe(query()));
    runner.children[0]!.stdout.write(`${lineFor("/tasks/start")}\n`);
    await until(() => first.events.length === 1);
    const second = read(events.subscribe(query()));
    await sleep(20);
    expect(second.events).toEqual([]);
  });

  it("ends a live stream at an until in the future", async () => {
    const { hub, events } = setup();
    const started = Date.now();
    const reader = read(events.subscribe({ until: BigInt(firstTime + 150) * 1_000_000n, filters: parseEventFilters(undefined) }));
    expect(hub.listeners).toBe(1);
    expect(await reader.ended).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(hub.listeners).toBe(0);
  });

  it("keeps a bounded buffer: the newest events, none older than its age", async () => {
    const { runner, hub, events, setNow } = setup({ bufferSize: 3, bufferAgeMs: 60_000 });
    const live = read(events.subscribe(query()));
    for (let i = 0; i < 5; i++) runner.children[0]!.stdout.write(`${lineFor("/tasks/start")}\n`);
    await until(() => live.events.length === 5);
    const replay = async () => {
      const reader = read(events.subscribe({ since: 0n, until: 1n << 62n, filters: parseEventFilters(undefined) }));
      await sleep(20);
      return reader.events.length;
    };
    expect(await replay()).toBe(3);
    // An hour on, a new event ages the old ones out.
    setNow(firstTime + 3_600_000);
    runner.children[0]!.stdout.write(`${JSON.stringify({ ...(JSON.parse(lineFor("/tasks/paused")) as object), Timestamp: new Date(firstTime + 3_600_000).toISOString() })}\n`);
    await until(() => live.events.length === 6);
    expect(await replay()).toBe(1);
  });
});

describe("slow subscribers and a failing stream", () => {
  it("drops a subscriber whose queue is full, with an error, and leaves the others alone", async () => {
    const { runner, hub, events } = setup({ queueLimit: 4 });
    const slow = events.subscribe(query());
    const errors: Error[] = [];
    slow.onError((error) => errors.push(error));
    const fast = read(events.subscribe(query()));
    for (let i = 0; i < 10; i++) runner.children[0]!.stdout.write(`${lineFor("/tasks/start")}\n`);
    await until(() => fast.events.length === 10);
    expect(errors).toEqual([expect.any(SlowSubscriberError)]);
    expect(hub.listeners).toBe(1);
    // What it had not read is gone; reading now gives the error.
    await expect(slow[Symbol.asyncIterator]().next()).rejects.toThrow(/read too slowly/);
  });

  it("gives subscribers the error when nerdctl events fails at once, and starts again for the next one", async () => {
    const { runner, hub, events } = setup();
    const reader = read(events.subscribe(query()));
    runner.children[0]!.exit(1, 'time="x" level=fatal msg="cannot connect to containerd"');
    expect(String(await reader.ended)).toMatch(/nerdctl events ended \(exit 1\).*cannot connect to containerd/);
    expect(hub.listeners).toBe(0);
    read(events.subscribe(query()));
    expect(runner.children).toHaveLength(2);
  });

  it("restarts nerdctl events that ended after running a while, for the subscribers it had", async () => {
    const { runner, hub, events } = setup({ minUptimeMs: 20 });
    const reader = read(events.subscribe(query()));
    await sleep(40);
    runner.children[0]!.exit(2);
    await until(() => runner.children.length === 2);
    runner.children[1]!.stdout.write(`${lineFor("/tasks/start")}\n`);
    await until(() => reader.events.length === 1);
    expect(hub.listeners).toBe(1);
  });

  it("restarts a source that keeps failing at start, later each time, whether anyone listens or not, and tells of each restart", async () => {
    const restarts: string[] = [];
    const { runner, hub } = setup({ restartDelayMs: 10, maxRestartDelayMs: 40, restarting: (namespace) => restarts.push(namespace) });
    hub.start();
    runner.children[0]!.exit(1);
    await until(() => runner.children.length === 2);
    runner.children[1]!.exit(1);
    await until(() => runner.children.length === 3);
    expect(hub.running()).toBe(true);
    expect(restarts).toEqual(["default", "default"]);
    // Stopped at shutdown is not a restart.
    hub.close();
    expect(restarts).toHaveLength(2);
  });

  it("close() ends every stream and kills every child (shutdown)", async () => {
    const { runner, hub, events } = setup();
    const a = read(events.subscribe(query()));
    const b = read(hub.in("k8s.io").subscribe(query()));
    hub.close();
    expect(await a.ended).toBeUndefined();
    expect(await b.ended).toBeUndefined();
    expect(runner.live()).toEqual([]);
    expect(hub.listeners).toBe(0);
  });
});

describe("nerdctld's own operations", () => {
  it("reach their namespace's readers, and are kept for since whoever listened", async () => {
    const { events, hub, setNow } = setup();
    events.emit({ type: "volume", action: "create", name: "before" });
    // Published in turn after what the engine said before it.
    await sleep(10);
    const reader = read(events.subscribe(query()));
    events.emit({ type: "volume", action: "create", name: "during" });
    hub.in("k8s.io").emit({ type: "volume", action: "create", name: "elsewhere" });
    await until(() => reader.events.length === 1);
    await sleep(20);
    expect(reader.events.map((event) => `${event.Type} ${event.Action} ${event.Actor.ID}`)).toEqual(["volume create during"]);
    setNow(firstTime + 1_000);
    const replayed = read(events.subscribe({ since: 0n, until: BigInt(firstTime) * 1_000_000n, filters: parseEventFilters(undefined) }));
    await replayed.ended;
    expect(replayed.events.map((event) => event.Actor.ID)).toEqual(["before", "during"]);
  });

  it("name what a load makes while it runs", async () => {
    const { runner, events } = setup();
    const reader = read(events.subscribe(query()));
    const finished = events.imageOperation({ kind: "load" });
    const created = JSON.stringify({ ...(JSON.parse(lineFor("/images/create")) as object) });
    runner.children[0]!.stdout.write(`${created}\n`);
    await until(() => reader.events.length === 1);
    expect(reader.events[0]).toMatchObject({ Type: "image", Action: "load" });
    finished();
  });

  it("ask for a network to be looked up before its removal only while someone listens, and only one not seen made", async () => {
    const { events } = setup();
    expect(events.unknownNetworks(["spare"])).toEqual([]);
    read(events.subscribe(query()));
    events.emit({ type: "network", action: "create", network: { id: "a".repeat(64), name: "made", type: "bridge" } });
    await sleep(10);
    expect(events.unknownNetworks(["spare", "made", "aaaa"])).toEqual(["spare"]);
  });
});
