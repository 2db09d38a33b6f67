import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import { EVENTS_ARGS, imageIdOf, inspectContainerById, parseEventLine, type NerdctlEvent } from "../nerdctl/events.ts";
import { allContainers } from "../nerdctl/containers.ts";
import { inspectAllRecords } from "../nerdctl/images.ts";
import { commandKey, type Fixture } from "../runner/fixture.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { FIXTURES_DIR } from "../testing/replay-app.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { recordLabels } from "./container-create-record.ts";
import { EventTranslator, type ImageOperation } from "./event-translator.ts";
import { encodeEvent, timestampNano, type DockerEvent } from "./events.ts";
import { groupImages } from "./image-model.ts";
import { signalNumber, type OperationEvent } from "./operation-events.ts";

let fixtures: Fixture[];
let stream: NerdctlEvent[];
beforeAll(async () => {
  fixtures = (await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "events"))).fixtures as Fixture[];
  const recorded = fixtures.find((fixture) => commandKey(fixture) === commandKey({ program: "nerdctl", args: EVENTS_ARGS }))!;
  stream = recorded.stdout.split("\n").flatMap((line) => parseEventLine(line) ?? []);
});

/** The recorded stream through a translator that looks things up in the recorded calls, as the daemon's event source does. */
async function translateRecorded(operation?: (record: string) => ImageOperation | undefined): Promise<{ events: DockerEvent[]; translator: EventTranslator }> {
  const nerdctl = new Nerdctl(new ReplayRunner(fixtures));
  const translator = new EventTranslator(
    { container: (id) => inspectContainerById(nerdctl, id), imageId: (record) => imageIdOf(nerdctl, record) },
    operation,
  );
  translator.load({ containers: await allContainers(nerdctl), images: groupImages(await inspectAllRecords(nerdctl)) });
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

describe("the image a container's events name", () => {
  const id = "a".repeat(64);
  const engineImage = "docker.io/library/busybox:latest";
  /** A container made through POST /containers/create with `Image: busybox`, its record in its labels. */
  const labels = { ...Object.fromEntries(recordLabels({ Image: "busybox" }).map((word) => word.split(/=(.*)/s).slice(0, 2) as [string, string])), "nerdctl/name": "web", team: "a" };
  const created = { Id: id, Name: "web", Image: engineImage, Config: { Image: engineImage, Labels: labels } } as unknown as NerdctlContainerInspect;
  const event = (topic: string, payload: object): NerdctlEvent => ({
    Timestamp: "2026-01-01T00:00:00.000000001Z",
    ID: "",
    Namespace: "default",
    Topic: topic,
    Status: "",
    Event: JSON.stringify(payload),
  });

  it("is the one the client named at create, as dockerd's Config.Image, through the container's later updates", async () => {
    const translator = new EventTranslator({ container: async () => created, imageId: async () => undefined });
    const made = await translator.translate(event("/containers/create", { id, image: engineImage }));
    expect(made.map((one) => one.Actor.Attributes)).toEqual([{ image: "busybox", name: "web", team: "a" }]);
    // containerd reports every label change (the restart monitor's, nerdctl update's) with the engine's image name.
    await translator.translate(event("/containers/update", { id, image: engineImage, labels }));
    const started = await translator.translate(event("/tasks/start", { container_id: id }));
    expect(started.map((one) => one.Actor.Attributes.image)).toEqual(["busybox"]);
  });

  it("is the engine's, familiar, for a container made otherwise", async () => {
    const plain = { ...created, Config: { Image: engineImage, Labels: { "nerdctl/name": "web" } } } as unknown as NerdctlContainerInspect;
    const translator = new EventTranslator({ container: async () => plain, imageId: async () => undefined });
    const made = await translator.translate(event("/containers/create", { id, image: engineImage }));
    expect(made.map((one) => one.Actor.Attributes.image)).toEqual(["busybox:latest"]);
  });
});

describe("events containerd has no topic for, from nerdctld's own operations", () => {
  /** The id nerdctl printed for the network the networks-changes scenario made. */
  async function recordedNetworkId(): Promise<string> {
    const recorded = (await ReplayRunner.fromDirectory(join(FIXTURES_DIR, "networks-changes"))).fixtures as Fixture[];
    return recorded.find((fixture) => fixture.exitCode === 0 && fixture.args.join(" ").startsWith("network create --driver bridge --subnet"))!.stdout.trim();
  }

  it("volume and network create/destroy, with the network's id", async () => {
    const { translator } = await translateRecorded();
    const networkId = await recordedNetworkId();
    const operations: OperationEvent[] = [
      { type: "volume", action: "create", name: "made" },
      { type: "volume", action: "destroy", name: "made" },
      { type: "network", action: "create", network: { id: networkId, name: "made", type: "bridge" } },
      { type: "network", action: "destroy", ref: "made" },
    ];
    const events = operations.flatMap((operation) => translator.fromOperation(operation, 5n));
    expect(networkId).toMatch(/^[0-9a-f]{64}$/);
    expect(events.map((event) => JSON.parse(encodeEvent(event)) as unknown)).toEqual([
      { Type: "volume", Action: "create", Actor: { ID: "made", Attributes: { driver: "local" } }, scope: "local", time: 0, timeNano: 5 },
      { Type: "volume", Action: "destroy", Actor: { ID: "made", Attributes: { driver: "local" } }, scope: "local", time: 0, timeNano: 5 },
      { Type: "network", Action: "create", Actor: { ID: networkId, Attributes: { name: "made", type: "bridge" } }, scope: "local", time: 0, timeNano: 5 },
      { Type: "network", Action: "destroy", Actor: { ID: networkId, Attributes: { name: "made", type: "bridge" } }, scope: "local", time: 0, timeNano: 5 },
    ]);
    // A network it did not see made is looked up before it goes (the network service does that call).
    expect(translator.unknownNetworks(["spare", "made"])).toEqual(["spare", "made"]);
  });

  it("container kill (with the signal's number) and stop, for containers it knows", async () => {
    const { translator } = await translateRecorded();
    // Known again as they were before their removal.
    translator.containers.set("f".repeat(64), { id: "f".repeat(64), name: "ev-exec", image: "busybox:latest", labels: {} });
    translator.containers.set("e".repeat(64), { id: "e".repeat(64), name: "ev-web", image: "busybox:latest", labels: { app: "events" } });
    const kill = translator.fromOperation({ type: "container", action: "kill", container: "ev-web", signal: "SIGKILL" });
    expect(kill).toEqual([expect.objectContaining({ Action: "kill", Actor: { ID: "e".repeat(64), Attributes: { app: "events", image: "busybox:latest", name: "ev-web", signal: "9" } } })]);
    expect(translator.fromOperation({ type: "container", action: "stop", container: "ev-exec" }).map(summary)).toEqual(["container stop ev-exec"]);
    expect(translator.fromOperation({ type: "container", action: "stop", container: "nosuch" })).toEqual([]);
    expect(signalNumber("TERM")).toBe("15");
    expect(signalNumber("SIGHUP")).toBe("1");
    expect(signalNumber("10")).toBe("10");
  });
});
