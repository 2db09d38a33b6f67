import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import { EVENTS_ARGS, eventSnapshot, imageIdOf, inspectContainerById, observeCommand, parseEventLine, type NerdctlEvent } from "../nerdctl/events.ts";
import { commandKey, type Fixture } from "../runner/fixture.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { FIXTURES_DIR } from "../testing/replay-app.ts";
import { EVENT_CHANGES } from "../../scripts/scenarios/events.ts";
import {
  encodeEvent,
  eventMatches,
  EventTranslator,
  makeEvent,
  parseEventFilters,
  parseEventQuery,
  parseEventTime,
  signalNumber,
  timestampNano,
  type DockerEvent,
  type ImageOperation,
} from "./events.ts";

let fixtures: Fixture[];
let stream: NerdctlEvent[];
beforeAll(async () => {
  fixtures = (await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "events"))).fixtures as Fixture[];
  const recorded = fixtures.find((fixture) => commandKey(fixture) === commandKey({ program: "nerdctl", args: EVENTS_ARGS }))!;
  stream = recorded.stdout.split("\n").flatMap((line) => parseEventLine(line) ?? []);
});

/** The recorded stream through a translator that looks things up in the recorded calls, as the hub does. */
async function translateRecorded(operation?: (record: string) => ImageOperation | undefined): Promise<{ events: DockerEvent[]; translator: EventTranslator }> {
  const nerdctl = new Nerdctl(new ReplayRunner(fixtures));
  const translator = new EventTranslator(
    { container: (id) => inspectContainerById(nerdctl, id), imageId: (record) => imageIdOf(nerdctl, record) },
    operation,
  );
  translator.load(await eventSnapshot(nerdctl));
  const events: DockerEvent[] = [];
  for (const event of stream) events.push(...(await translator.translate(event)));
  return { events, translator };
}

const summary = (event: DockerEvent) => `${event.Type} ${event.Action} ${event.Actor.Attributes.name ?? ""}`.trim();

describe("containerd's events as Docker's", () => {
  it("reads nerdctl's envelopes and skips the blank lines between them", () => {
    expect(stream.length).toBeGreaterThan(20);
    expect(parseEventLine("")).toBeUndefined();
    expect(parseEventLine("time=\"x\" level=warning")).toBeUndefined();
    expect(stream.every((event) => event.Namespace === "default")).toBe(true);
  });

  it("turns the recorded container, exec and image changes into dockerd's sequence", async () => {
    const { events } = await translateRecorded();
    const id = events[0]!.Actor.ID;
    expect(events.map(summary)).toEqual([
      "container create ev-web",
      "container start ev-web",
      "container pause ev-web",
      "container unpause ev-web",
      "container die ev-web",
      "container rename ev-renamed",
      "container destroy ev-renamed",
      "container create ev-once",
      "container start ev-once",
      "container die ev-once",
      "container destroy ev-once",
      "container create ev-exec",
      "container start ev-exec",
      "container exec_create ev-exec",
      "container exec_start ev-exec",
      "container exec_die ev-exec",
      "container die ev-exec",
      "container destroy ev-exec",
      "image tag events-tag:1",
      "image untag sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0",
      // The reload only rewrites busybox:latest with the image it had (and adds the engine's own import@ record).
    ]);
    const web = events[0]!;
    expect(web).toMatchObject({
      status: "create",
      id,
      from: "busybox:latest",
      Type: "container",
      Action: "create",
      Actor: { ID: id, Attributes: { app: "events", image: "busybox:latest", name: "ev-web" } },
      scope: "local",
    });
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // nerdctl's own labels are not the user's.
    expect(Object.keys(web.Actor.Attributes).some((key) => key.startsWith("nerdctl/"))).toBe(false);
  });

  it("reports exit codes, exec ids and the old name as dockerd does", async () => {
    const { events } = await translateRecorded();
    const find = (action: string, name: string) => events.find((event) => event.Action === action && event.Actor.Attributes.name === name)!;
    expect(find("die", "ev-web").Actor.Attributes.exitCode).toBe("137");
    expect(find("die", "ev-once").Actor.Attributes.exitCode).toBe("3");
    expect(find("exec_die", "ev-exec").Actor.Attributes).toMatchObject({ exitCode: "2", execID: expect.stringMatching(/^exec-/) });
    expect(find("exec_create", "ev-exec").Actor.Attributes.execID).toBe(find("exec_die", "ev-exec").Actor.Attributes.execID);
    expect(find("rename", "ev-renamed").Actor.Attributes.oldName).toBe("/ev-web");
    const tag = events.find((event) => event.Action === "tag")!;
    expect(tag).toMatchObject({ status: "tag", id: "sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0", Type: "image" });
    expect(tag.from).toBeUndefined();
  });

  it("keeps containerd's nanoseconds", () => {
    const event = stream.find((candidate) => candidate.Topic === "/tasks/start")!;
    const nano = timestampNano(event.Timestamp)!;
    expect(nano.toString()).toMatch(/^\d{19}$/);
    expect(nano % 1_000_000n).not.toBe(0n);
    expect(timestampNano("2026-01-01T00:00:00.5Z")).toBe(1_767_225_600_500_000_000n);
  });

  it("reports what a load makes as one load event, and a pull as a pull of its reference", async () => {
    const load: ImageOperation = { kind: "load", reported: new Set() };
    const loaded = await translateRecorded(() => load);
    expect(loaded.events.filter((event) => event.Type === "image").map(summary)).toEqual([
      // (every image change counts as the load's here, the tag too)
      "image load sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0",
      "image untag sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0",
    ]);
    const pull: ImageOperation = { kind: "pull", reference: "docker.io/library/busybox:latest", reported: new Set() };
    const pulled = await translateRecorded((record) => (record === pull.reference ? pull : undefined));
    expect(pulled.events.filter((event) => event.Action === "pull")).toEqual([
      expect.objectContaining({ id: "busybox:latest", Actor: { ID: "busybox:latest", Attributes: { name: "busybox" } } }),
    ]);
  });

  it("reports the image deleted when its last name goes, not before", async () => {
    const { translator } = await translateRecorded();
    const id = "sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0";
    translator.imageIds.set("docker.io/library/second:1", id);
    const deleted = stream.find((event) => event.Topic === "/images/delete")!;
    const remove = (name: string) => translator.translate({ ...deleted, Event: JSON.stringify({ name }) });
    expect((await remove("docker.io/library/second:1")).map(summary)).toEqual([`image untag ${id}`]);
    expect((await remove("docker.io/library/busybox:latest")).map(summary)).toEqual([`image untag ${id}`, `image delete ${id}`]);
    expect(await remove("docker.io/library/busybox:latest")).toEqual([expect.objectContaining({ Action: "untag" })]);
  });
});

describe("events containerd has no topic for, from the daemon's own commands", () => {
  /** A recorded call of another scenario's (the daemon's own argv and nerdctl's answer). */
  async function recordedCall(scenario: string, prefix: string): Promise<Fixture> {
    const recorded = (await ReplayRunner.fromDirectory(join(FIXTURES_DIR, scenario))).fixtures as Fixture[];
    return recorded.find((fixture) => fixture.exitCode === 0 && fixture.args.join(" ").startsWith(prefix))!;
  }
  const change = (prefix: string) => ({ program: "nerdctl" as const, args: EVENT_CHANGES.find((entry) => entry.args.join(" ").startsWith(prefix))!.args });

  it("volume and network create/destroy, with the network's id", async () => {
    const { translator } = await translateRecorded();
    const calls = [
      await recordedCall("volumes-changes", "volume create"),
      await recordedCall("volumes-changes", "volume rm -- made"),
      await recordedCall("networks-changes", "network create --driver bridge --subnet"),
      await recordedCall("networks-changes", "network rm -- made"),
    ];
    const events = calls.flatMap((call) => translator.eventsFromCommand(observeCommand(call)!, call.stdout, 5n));
    const networkId = calls[2]!.stdout.trim();
    expect(networkId).toMatch(/^[0-9a-f]{64}$/);
    expect(events.map((event) => JSON.parse(encodeEvent(event)) as unknown)).toEqual([
      { Type: "volume", Action: "create", Actor: { ID: "made", Attributes: { driver: "local" } }, scope: "local", time: 0, timeNano: 5 },
      { Type: "volume", Action: "destroy", Actor: { ID: "made", Attributes: { driver: "local" } }, scope: "local", time: 0, timeNano: 5 },
      { Type: "network", Action: "create", Actor: { ID: networkId, Attributes: { name: "made", type: "bridge" } }, scope: "local", time: 0, timeNano: 5 },
      { Type: "network", Action: "destroy", Actor: { ID: networkId, Attributes: { name: "made", type: "bridge" } }, scope: "local", time: 0, timeNano: 5 },
    ]);
    // A network it did not see made is looked up before it goes (the hub does that call).
    expect(translator.unknownNetworks(observeCommand({ program: "nerdctl", args: ["network", "rm", "--", "spare", "made"] })!)).toEqual(["spare", "made"]);
  });

  it("container kill (with the signal's number) and stop, for containers it knows", async () => {
    const { translator } = await translateRecorded();
    // Known again as they were before their removal.
    translator.containers.set("f".repeat(64), { id: "f".repeat(64), name: "ev-exec", image: "busybox:latest", labels: {} });
    translator.containers.set("e".repeat(64), { id: "e".repeat(64), name: "ev-web", image: "busybox:latest", labels: { app: "events" } });
    const kill = translator.eventsFromCommand(observeCommand(change("kill"))!, "");
    expect(kill).toEqual([expect.objectContaining({ Action: "kill", Actor: { ID: "e".repeat(64), Attributes: { app: "events", image: "busybox:latest", name: "ev-web", signal: "9" } } })]);
    expect(translator.eventsFromCommand(observeCommand(change("stop"))!, "").map(summary)).toEqual(["container stop ev-exec"]);
    expect(translator.eventsFromCommand(observeCommand({ program: "nerdctl", args: ["stop", "--", "nosuch"] })!, "")).toEqual([]);
    expect(signalNumber("TERM")).toBe("15");
    expect(signalNumber("SIGHUP")).toBe("1");
    expect(signalNumber("10")).toBe("10");
  });

  it("reads the namespace and positionals of the argv the daemon builds", () => {
    expect(observeCommand({ program: "nerdctl", args: ["--namespace", "k8s.io", "volume", "rm", "--", "a", "b"] })).toEqual({
      namespace: "k8s.io",
      verb: ["volume", "rm"],
      flags: [],
      positionals: ["a", "b"],
    });
    expect(observeCommand({ program: "buildctl", args: ["du"] })).toBeUndefined();
  });
});

describe("the event document", () => {
  it("is written as dockerd writes it: field order, sorted attributes, exact timeNano", () => {
    const event = makeEvent("container", "die", { ID: "abc", Attributes: { name: "web", exitCode: "0", image: "busybox" } }, 1_795_416_314_999_999_999n);
    expect(encodeEvent(event)).toBe(
      '{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"0","image":"busybox","name":"web"}},"scope":"local","time":1795416314,"timeNano":1795416314999999999}\n',
    );
    expect(encodeEvent(makeEvent("volume", "create", { ID: "v", Attributes: { driver: "local" } }, 1n))).toBe(
      '{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{"driver":"local"}},"scope":"local","time":0,"timeNano":1}\n',
    );
  });
});

describe("since, until and filters", () => {
  it("reads Unix seconds with a fraction as nanoseconds, and dates and durations too", () => {
    expect(parseEventTime("1700000000", "since")).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime("1700000000.5", "since")).toBe(1_700_000_000_500_000_000n);
    expect(parseEventTime("1700000000.000000001", "until")).toBe(1_700_000_000_000_000_001n);
    expect(parseEventTime("", "since")).toBeUndefined();
    expect(parseEventTime("10m", "since", 1_700_000_600_000)).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime("2023-11-14T22:13:20Z", "since")).toBe(1_700_000_000_000_000_000n);
  });

  it.each([
    [{ since: "abc" }, /invalid since/],
    [{ since: "10", until: "5" }, /`since` time \(10\) cannot be after `until` time \(5\)/],
    [{ filters: "nojson" }, /invalid filter/],
    [{ filters: '{"type":"container"}' }, /invalid filter/],
  ])("refuses %j with a 400", (query, message) => {
    let caught: { kind?: string; message?: string } | undefined;
    try {
      parseEventQuery(query);
    } catch (error) {
      caught = error as { kind: string; message: string };
    }
    expect(caught?.kind).toBe("invalid-parameter");
    expect(caught?.message).toMatch(message);
  });

  const container = makeEvent("container", "start", { ID: "4c585e0958d1aaaa", Attributes: { name: "web", image: "busybox:latest", app: "demo" } }, 1n);
  const image = makeEvent("image", "tag", { ID: "sha256:bba8", Attributes: { name: "busybox:t2" } }, 1n);
  const volume = makeEvent("volume", "create", { ID: "data", Attributes: { driver: "local" } }, 1n);
  const exec = makeEvent("container", "exec_create", { ID: "4c585e0958d1aaaa", Attributes: { name: "web", execID: "x" } }, 1n);
  const matching = (filters: Record<string, string[]>) =>
    [container, image, volume, exec].filter((event) => eventMatches(parseEventFilters(JSON.stringify(filters)), event)).map((event) => `${event.Type} ${event.Action}`);

  it.each([
    [{}, ["container start", "image tag", "volume create", "container exec_create"]],
    [{ type: ["container"] }, ["container start", "container exec_create"]],
    [{ type: ["container"], event: ["start"] }, ["container start"]],
    [{ event: ["exec_create"] }, ["container exec_create"]],
    [{ container: ["web"] }, ["container start", "container exec_create"]],
    [{ container: ["4c585e"] }, ["container start", "container exec_create"]],
    [{ container: ["nosuch"] }, []],
    [{ image: ["busybox"] }, ["container start", "image tag"]],
    [{ image: ["busybox:t2"] }, ["image tag"]],
    [{ label: ["app=demo"] }, ["container start"]],
    [{ label: ["app"] }, ["container start"]],
    [{ volume: ["data"] }, ["volume create"]],
    [{ network: ["bridge"] }, []],
    [{ daemon: ["x"] }, []],
    [{ scope: ["local"] }, ["container start", "image tag", "volume create", "container exec_create"]],
    [{ scope: ["swarm"] }, []],
    // dockerd accepts keys it does not know, and they select nothing away.
    [{ bogus: ["x"] }, ["container start", "image tag", "volume create", "container exec_create"]],
  ])("filters %j", (filters, expected) => {
    expect(matching(filters)).toEqual(expected);
  });
});
