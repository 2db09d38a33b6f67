import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { Nerdctl } from "../../nerdctl/client.ts";
import type { NerdctlContainerInspect } from "../../nerdctl/container-types.ts";
import { inspectContainerById, parseEventLine, type NerdctlEvent } from "../../nerdctl/events.ts";
import { CoalescingRunner } from "../../runner/coalescing.ts";
import { readFixtures } from "../../runner/fixture.ts";
import { FIXTURES_DIR } from "../../testing/replay-app.ts";
import { NamespaceState } from "./namespace-state.ts";
import { MemoryEngine } from "../../testing/memory-engine.ts";

const id = (n: number) => n.toString(16).padStart(64, "a");

function taskEvent(topic: string, containerId: string): NerdctlEvent {
  return { Timestamp: "2026-12-05T00:00:00Z", ID: "", Namespace: "default", Topic: topic, Status: "", Event: JSON.stringify({ container_id: containerId }) };
}

function setup() {
  const engine = new MemoryEngine();
  let now = 0;
  const state = new NamespaceState(new Nerdctl(engine), { subscribeGraceMs: 500, now: () => now });
  /** The container changed, and its inspection is under way, held until `release`. */
  const heldRead = async (changed: string) => {
    state.streamStarted();
    now += 500;
    await state.containers.all();
    const listed = engine.calls.length;
    const release = engine.hold();
    state.containerChanged(changed);
    const reading = state.containers.all();
    await vi.waitFor(() => expect(engine.calls.length).toBe(listed + 1));
    return { listed, release, reading };
  };
  return { engine, state, later: (ms: number) => (now += ms), heldRead };
}

const names = (containers: NerdctlContainerInspect[] | undefined) => containers?.map((container) => container.Name).sort();

describe("NamespaceState's containers", () => {
  it("keeps nothing until the engine's stream runs, and for a moment after it starts", async () => {
    const { engine, state, later } = setup();
    engine.put(id(1), "web");
    expect(await state.containers.all()).toBeUndefined();
    state.streamStarted();
    expect(await state.containers.all()).toBeUndefined();
    later(500);
    expect(names(await state.containers.all())).toEqual(["web"]);
    expect(engine.calls).toEqual([["ps", "--quiet", "--no-trunc", "--all"], ["container", "inspect", "--", id(1)]]);
  });

  it("answers reads with no engine call until something changes, then inspects only what changed", async () => {
    const { engine, state, later } = setup();
    engine.put(id(1), "web");
    engine.put(id(2), "db");
    state.streamStarted();
    later(500);
    await state.containers.all();
    const listed = engine.calls.length;
    await state.containers.all();
    await state.containers.find("web");
    expect(engine.calls.length).toBe(listed);

    engine.put(id(2), "db", "exited");
    state.engineEvent(taskEvent("/tasks/exit", id(2)));
    const [db] = (await state.containers.all())!.filter((container) => container.Name === "db");
    expect(db?.State?.Status).toBe("exited");
    expect(engine.calls.slice(listed)).toEqual([["container", "inspect", "--", id(2)]]);
  });

  it("drops a container the engine no longer has, and adds one nerdctld made", async () => {
    const { engine, state, later } = setup();
    engine.put(id(1), "web");
    state.streamStarted();
    later(500);
    await state.containers.all();
    engine.containers.delete(id(1));
    engine.put(id(3), "new");
    state.engineEvent({ ...taskEvent("/containers/delete", ""), Event: JSON.stringify({ id: id(1) }) });
    state.containerChanged(id(3));
    expect(names(await state.containers.all())).toEqual(["new"]);
  });

  it("takes an event from before a container's record was read as in it, and one from after as a change", async () => {
    const { engine, state, later } = setup();
    const at = (ms: number) => ({ ...taskEvent("/tasks/start", id(1)), Timestamp: new Date(ms).toISOString() });
    engine.put(id(1), "web", "created");
    state.streamStarted();
    later(500);
    await state.containers.all();
    const listed = engine.calls.length;
    // nerdctld started it and read it again at once; the engine's event for that start comes after.
    engine.put(id(1), "web", "running");
    later(100);
    state.containerChanged(id(1));
    await state.containers.all();
    state.engineEvent(at(550));
    expect(names(await state.containers.all())).toEqual(["web"]);
    expect(engine.calls.length).toBe(listed + 1);
    // A change after that read is read again.
    engine.put(id(1), "web", "exited");
    state.engineEvent(at(601));
    const [web] = (await state.containers.all())!;
    expect(web?.State?.Status).toBe("exited");
    expect(engine.calls.length).toBe(listed + 2);
  });

  it("takes the engine's late events of a container it found gone as known", async () => {
    const { engine, state, later } = setup();
    const at = (topic: string, ms: number) => ({ ...taskEvent(topic, id(1)), Timestamp: new Date(ms).toISOString() });
    engine.put(id(1), "web", "exited");
    state.streamStarted();
    later(500);
    await state.containers.all();
    // nerdctld removed it and read that at once; the engine's events of the removal come after.
    engine.containers.delete(id(1));
    later(100);
    state.containerChanged(id(1));
    expect(await state.containers.all()).toEqual([]);
    const listed = engine.calls.length;
    state.engineEvent(at("/tasks/delete", 540));
    state.engineEvent({ ...at("/containers/delete", 550), Event: JSON.stringify({ id: id(1) }) });
    expect(await state.containers.all()).toEqual([]);
    expect(engine.calls.length).toBe(listed);
  });

  it("knows a container nerdctld removed as gone without asking, its late events included", async () => {
    const { engine, state, later } = setup();
    engine.put(id(1), "web", "exited");
    engine.put(id(2), "db");
    state.streamStarted();
    later(500);
    await state.containers.all();
    const listed = engine.calls.length;
    engine.containers.delete(id(1));
    state.containerChanged(id(1));
    later(100);
    state.containersRemoved([id(1)]);
    state.engineEvent({ ...taskEvent("/containers/delete", ""), Timestamp: new Date(550).toISOString(), Event: JSON.stringify({ id: id(1) }) });
    expect(names(await state.containers.all())).toEqual(["db"]);
    expect(engine.calls.length).toBe(listed);
  });

  it("refreshes a burst of changes with one call in flight and one after it", async () => {
    const { engine, state, heldRead } = setup();
    for (let n = 1; n <= 5; n++) engine.put(id(n), `c${n}`);
    const { listed, release, reading } = await heldRead(id(1));
    // While that inspect runs, four more changes and three more reads.
    for (let n = 2; n <= 5; n++) state.containerChanged(id(n));
    const more = [state.containers.all(), state.containers.all(), state.containers.all()];
    release();
    await Promise.all([reading, ...more]);
    expect(engine.calls.slice(listed)).toEqual([
      ["container", "inspect", "--", id(1)],
      ["container", "inspect", "--", id(2), id(3), id(4), id(5)],
    ]);
  });

  it("does not bring back a container nerdctld removed while a read that saw it still ran", async () => {
    const { engine, state, heldRead } = setup();
    engine.put(id(1), "tty");
    const { release, reading } = await heldRead(id(1));
    // As removingContainers does: nerdctl removes it, then the state is told.
    engine.containers.delete(id(1));
    state.containerChanged(id(1));
    state.containersRemoved([id(1)]);
    release();
    await reading;
    expect(await state.containers.find("tty")).toBeUndefined();
  });

  it("never answers a change with a read begun before it, even one that another reader shares", async () => {
    const engine = new MemoryEngine();
    const nerdctl = new Nerdctl(new CoalescingRunner(engine));
    let now = 0;
    const state = new NamespaceState(nerdctl, { subscribeGraceMs: 0, now: () => now });
    engine.put(id(1), "web", "created");
    state.streamStarted();
    now += 1;
    await state.containers.all();
    const release = engine.hold();
    // Another reader (the event translator) inspects the container; then the engine starts it, with no command of nerdctld's.
    const elsewhere = inspectContainerById(nerdctl, id(1));
    engine.put(id(1), "web", "running");
    state.engineEvent(taskEvent("/tasks/start", id(1)));
    const read = state.containers.find("web");
    release();
    expect((await elsewhere)?.State?.Status).toBe("created");
    expect((await read)?.State?.Status).toBe("running");
  });

  it("resolves names, full ids and unique prefixes, and leaves anything else to nerdctl", async () => {
    const { engine, state, later } = setup();
    engine.put("abc1".padEnd(64, "0"), "web");
    engine.put("abc2".padEnd(64, "0"), "abc1");
    state.streamStarted();
    later(500);
    expect((await state.containers.find("web"))?.Name).toBe("web");
    expect((await state.containers.find("/web"))?.Name).toBe("web");
    expect((await state.containers.find("abc2"))?.Name).toBe("abc1");
    expect((await state.containers.find("abc2".padEnd(64, "0")))?.Name).toBe("abc1");
    // "abc1" is one's name and the other's id prefix: nerdctl decides, as it would without the state.
    expect(await state.containers.find("abc1")).toBeUndefined();
    expect(await state.containers.find("abc")).toBeUndefined();
    expect(await state.containers.find("nosuch")).toBeUndefined();
  });

  it("forgets everything when the stream ends, and reads it again after it restarts", async () => {
    const { engine, state, later } = setup();
    engine.put(id(1), "web");
    state.streamStarted();
    later(500);
    await state.containers.all();
    state.streamEnded();
    expect(await state.containers.all()).toBeUndefined();
    engine.put(id(2), "made-while-down");
    state.streamStarted();
    expect(await state.containers.all()).toBeUndefined();
    later(500);
    expect(names(await state.containers.all())).toEqual(["made-while-down", "web"]);
  });

  it("lets a read whose engine call fails go to nerdctl, and tries again on the next", async () => {
    const { engine, state, later } = setup();
    engine.put(id(1), "web");
    state.streamStarted();
    later(500);
    await state.containers.all();
    state.containerChanged(id(1));
    const failing = engine.run.bind(engine);
    engine.run = async (command) => ({ ...(await failing(command)), stdout: "", stderr: "panic: runtime error", exitCode: 2 });
    expect(await state.containers.all()).toBeUndefined();
    engine.run = failing;
    expect(names(await state.containers.all())).toEqual(["web"]);
  });
});

describe("NamespaceState's image identities", () => {
  it("are read once while images stay as they are, and again after any image change", async () => {
    const { engine, state } = setup();
    const inspected: string[][] = [];
    engine.run = async (command) => {
      inspected.push([...command.args]);
      return { stdout: `${JSON.stringify({ Id: "sha256:1", RepoTags: ["busybox:latest"] })}\n`, stderr: "", exitCode: 0 };
    };
    state.streamStarted();
    expect((await state.images.of(["busybox:latest"])).get("busybox:latest")?.Id).toBe("sha256:1");
    await state.images.of(["busybox:latest"]);
    expect(inspected).toHaveLength(1);
    state.engineEvent({ ...taskEvent("/images/delete", ""), Event: JSON.stringify({ name: "docker.io/library/busybox:latest" }) });
    await state.images.of(["busybox:latest"]);
    expect(inspected).toHaveLength(2);
  });
});

describe("NamespaceState over a recorded engine event stream", () => {
  it("re-reads a container at its own and its task's changes, never at a process exec'd in it", async () => {
    const recorded = (await readFixtures(join(FIXTURES_DIR, "events"))).find((fixture) => fixture.args[0] === "events")!;
    const events = recorded.stdout.split("\n").flatMap((line) => parseEventLine(line) ?? []);
    const { engine, state, later } = setup();
    state.streamStarted();
    later(500);
    await state.containers.all();
    const rereading = new Set<string>();
    const quiet = new Set<string>();
    for (const event of events) {
      const before = engine.calls.length;
      state.engineEvent(event);
      await state.containers.all();
      const payload = JSON.parse(event.Event) as { id?: string; container_id?: string };
      const calls = engine.calls.slice(before);
      if (calls.length === 0) {
        quiet.add(event.Topic === "/tasks/exit" && payload.id !== payload.container_id ? "/tasks/exit of an exec" : event.Topic);
        continue;
      }
      rereading.add(event.Topic);
      // One inspect, of the event's own container.
      expect(calls).toEqual([["container", "inspect", "--", payload.container_id ?? payload.id]]);
    }
    expect([...rereading].sort()).toEqual([
      "/containers/create",
      "/containers/delete",
      "/containers/update",
      "/tasks/create",
      "/tasks/delete",
      "/tasks/exit",
      "/tasks/paused",
      "/tasks/resumed",
      "/tasks/start",
    ]);
    for (const topic of ["/tasks/exec-added", "/tasks/exec-started", "/tasks/exit of an exec", "/snapshot/prepare", "/images/create"]) expect(quiet).toContain(topic);
  });
});
