import { PassThrough } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import type { ExecConfig } from "../docker/exec.ts";
import type { ExecOutcome } from "../nerdctl/exec.ts";
import type { InteractiveCommand } from "../runner/types.ts";
import { ExecRegistry } from "./exec-registry.ts";

const CONTAINER = "760145ab60384cd35bc0c3effde9a8b26844fe3e76a04f4184a5cba6dc279739";
const config: ExecConfig = {
  openStdin: false,
  openStdout: true,
  openStderr: true,
  detachKeys: new Uint8Array(),
  tty: true,
  privileged: false,
  user: "",
  requestedUser: "",
  workingDir: "",
  env: [],
  entrypoint: "sh",
  arguments: [],
};

/** A child that does nothing until told how it ended. */
function child(): { command: InteractiveCommand; end(outcome: ExecOutcome): void; outcome: Promise<ExecOutcome> } {
  let end: (outcome: ExecOutcome) => void = () => {};
  const outcome = new Promise<ExecOutcome>((resolve) => (end = resolve));
  const command: InteractiveCommand = {
    tty: true,
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    exited: new Promise(() => {}),
    kill: vi.fn(),
    resize: vi.fn(),
  };
  return { command, end, outcome };
}

function clock() {
  const time = { now: 1_000_000 };
  return { time, registry: new ExecRegistry({ now: () => time.now, endedTtlMs: 300_000, unstartedTtlMs: 3_600_000, maxInstances: 3 }) };
}

describe("ExecRegistry", () => {
  it("gives each instance a 64-hex id, found only in its namespace", () => {
    const { registry } = clock();
    const instance = registry.add("k8s.io", CONTAINER, config);
    expect(instance.id).toMatch(/^[0-9a-f]{64}$/);
    expect(registry.get(instance.id, "k8s.io")).toBe(instance);
    expect(registry.get(instance.id, undefined)).toBeUndefined();
    expect(registry.get(instance.id.slice(0, 12), "k8s.io")).toBeUndefined();
  });

  it("starts an instance once, with dockerd's words for a second start", async () => {
    const { registry } = clock();
    const instance = registry.add(undefined, CONTAINER, config);
    instance.claim();
    expect(() => instance.claim()).toThrow(`Error: Exec command ${instance.id} is already running`);
    const running = child();
    instance.started(running.command, running.outcome, () => 5);
    running.end({ kind: "exited", exitCode: 7 });
    await instance.ended;
    expect(instance.state()).toMatchObject({ running: false, exitCode: 7 });
    expect(() => instance.claim()).toThrow(`Error: Exec command ${instance.id} has already run`);
  });

  it("records dockerd's 126 for a process that never started", async () => {
    const { registry } = clock();
    const instance = registry.add(undefined, CONTAINER, config);
    instance.claim();
    const failing = child();
    instance.started(failing.command, failing.outcome, () => 5);
    failing.end({ kind: "not-started", message: "no users found" });
    await instance.ended;
    expect(instance.state().exitCode).toBe(126);
  });

  it("resizes a running terminal, refuses one never started and one that has ended", async () => {
    const { registry } = clock();
    const instance = registry.add(undefined, CONTAINER, config);
    instance.claim();
    const running = child();
    instance.started(running.command, running.outcome, () => 5);
    await instance.resize({ height: 40, width: 120 });
    // No terminal has such sizes: dockerd accepts them, and nothing changes.
    await instance.resize({ height: -1, width: 70_000 });
    await instance.resize({ height: 0, width: 0 });
    expect(running.command.tty && running.command.resize).toHaveBeenCalledTimes(1);
    expect(running.command.tty && running.command.resize).toHaveBeenCalledWith(120, 40);
    running.end({ kind: "exited", exitCode: 0 });
    await instance.ended;
    await expect(instance.resize({ height: 1, width: 1 })).rejects.toThrow(`process does not exist ${instance.id}: not found`);
    const failed = registry.add(undefined, CONTAINER, config);
    failed.claim();
    failed.failed(5);
    await expect(failed.resize({ height: 1, width: 1 })).rejects.toThrow("exec process is not started");
  });

  it("forgets ended instances after a while, unstarted ones after longer, and kills what it forgets", async () => {
    const { time, registry } = clock();
    const ended = registry.add(undefined, CONTAINER, config);
    ended.claim();
    const done = child();
    ended.started(done.command, done.outcome, () => time.now);
    done.end({ kind: "exited", exitCode: 0 });
    await ended.ended;
    const idle = registry.add(undefined, CONTAINER, config);
    time.now += 300_000;
    registry.add(undefined, CONTAINER, config);
    expect(registry.get(ended.id, undefined)).toBeUndefined();
    expect(registry.get(idle.id, undefined)).toBe(idle);
    time.now += 3_300_000;
    registry.add(undefined, CONTAINER, config);
    expect(registry.get(idle.id, undefined)).toBeUndefined();

    const running = registry.add(undefined, CONTAINER, config);
    running.claim();
    const live = child();
    running.started(live.command, live.outcome, () => time.now);
    registry.forget(running);
    expect(live.command.kill).toHaveBeenCalled();
    expect(registry.get(running.id, undefined)).toBeUndefined();
  });

  it("keeps at most its cap, dropping the oldest that are not running", () => {
    const { registry } = clock();
    const running = registry.add(undefined, CONTAINER, config);
    running.claim();
    const [second, third] = [registry.add(undefined, CONTAINER, config), registry.add(undefined, CONTAINER, config)];
    const fourth = registry.add(undefined, CONTAINER, config);
    expect(registry.size).toBe(3);
    expect([running, second, third, fourth].map((instance) => registry.get(instance.id, undefined) !== undefined)).toEqual([true, false, true, true]);
  });
});
