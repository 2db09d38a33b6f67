import { afterEach, describe, expect, it, vi } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import { MemoryEngine } from "../testing/memory-engine.ts";
import { baselineOf, watchEnd } from "./container-exit.ts";
import { scopeFor, type Scope } from "./scope.ts";
import { NamespaceState } from "./state/namespace-state.ts";

const ID = "f".repeat(64);

/** A scope whose state follows the engine (its stream runs) and holds the container's record; the event stream itself carries nothing. */
async function followedScope(engine: MemoryEngine): Promise<Scope> {
  const nerdctl = new Nerdctl(engine);
  const state = new NamespaceState(nerdctl, { subscribeGraceMs: 0, now: Date.now });
  state.streamStarted();
  expect(await state.containers.find("tty")).toBeDefined();
  return { ...scopeFor({ nerdctl, facts: () => ({}) as never }, undefined), state };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("a wait that learns the end from the container's record before the event stream tells", () => {
  it("leaves the state knowing the container is gone: the client's next read does not find it", async () => {
    const engine = new MemoryEngine();
    engine.put(ID, "tty", "exited");
    const scope = await followedScope(engine);
    const baseline = baselineOf((await scope.state.containers.find("tty"))!);
    vi.useFakeTimers();
    const end = watchEnd(scope, baseline, "removed", new AbortController().signal);
    engine.containers.delete(ID);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await end).toEqual({ kind: "removed", exitCode: undefined });
    expect(await scope.state.containers.find("tty")).toBeUndefined();
  });

  it("leaves the state reading the container again: the client's next read shows it exited", async () => {
    const engine = new MemoryEngine();
    engine.put(ID, "tty", "running");
    const scope = await followedScope(engine);
    const running = (await scope.state.containers.find("tty"))!;
    const baseline = { ...baselineOf(running), running: true };
    vi.useFakeTimers();
    const end = watchEnd(scope, baseline, "exit", new AbortController().signal);
    engine.put(ID, "tty", "exited");
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await end).kind).toBe("exit");
    expect((await scope.state.containers.find("tty"))?.State?.Status).toBe("exited");
  });
});
