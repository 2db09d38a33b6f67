import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

/*
 * `docker events` against nerdctld: a live stream bounded by --until while a
 * container of the seed starts, then the same stretch of time replayed with
 * --since/--until. The container made to start is `done` (it runs `true` and
 * exits again), so the seed is left as it was found.
 */

const dockerHost = inject("dockerHost");

const unix = (ms: number) => (ms / 1000).toFixed(3);

interface EventLine {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: number;
}

const parse = (stdout: string) =>
  stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EventLine);

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);

  /** Waits until the daemon has at least one events subscriber (docker info's NEventsListener). */
  async function listening(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await docker("info", "--format", "{{.NEventsListener}}");
      if (info.exitCode === 0 && Number(info.stdout.trim()) > 0) return;
      if (Date.now() > deadline) throw new Error(`no events listener: ${info.stdout}${info.stderr}`);
      await sleep(200);
    }
  }

  async function startDone(): Promise<void> {
    const result = await engineNerdctl(["start", "done"], { namespace: cell.namespace });
    expect(result.exitCode, result.stderr).toBe(0);
  }

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
  });

  it("docker events --filter type=container --filter event=start", async () => {
    const from = Date.now();
    const stream = docker("events", "--filter", "type=container", "--filter", "event=start", "--format", "{{json .}}", "--until", unix(from + 8_000));
    await listening();
    await startDone();
    const result = await stream;
    // --until ends the stream (exit 0) however long it ran.
    expect(result.exitCode, result.stderr).toBe(0);
    expect(Date.now() - from).toBeGreaterThanOrEqual(7_000);
    const events = parse(result.stdout);
    expect(events.length).toBeGreaterThanOrEqual(1);
    for (const event of events) expect(event).toMatchObject({ Type: "container", Action: "start", status: "start", scope: "local" });
    // As with dockerd, --until without --since also replays what the daemon buffered before: earlier cells' starts.
    const done = events.filter((event) => event.Actor.Attributes.name === "done" && event.time * 1000 >= from - 1000).at(-1)!;
    expect(done).toBeDefined();
    expect(done.Actor.ID).toMatch(/^[0-9a-f]{64}$/);
    expect(done.id).toBe(done.Actor.ID);
    expect(done.Actor.Attributes.image).toMatch(/busybox/);
    expect(done.from).toBe(done.Actor.Attributes.image);
    expect(String(done.timeNano).slice(0, 10)).toBe(String(done.time));
  });

  it("docker events --since … --until …", async () => {
    const from = Date.now();
    // Live, in dockerd's default format, until a few seconds from now.
    const stream = docker("events", "--since", unix(from), "--until", unix(from + 6_000));
    await listening();
    await startDone();
    const live = await stream;
    expect(live.exitCode, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/^\S+ container start [0-9a-f]{64} \(.*name=done.*\)$/m);
    expect(live.stdout).toMatch(/^\S+ container die [0-9a-f]{64} \(.*exitCode=0.*name=done.*\)$/m);
    const to = Date.now();

    // The same stretch of time, now past: replayed from the daemon's buffer, and the command ends at once.
    const replayed = await docker("events", "--since", unix(from), "--until", unix(to), "--filter", "container=done", "--format", "{{json .}}");
    expect(replayed.exitCode, replayed.stderr).toBe(0);
    const events = parse(replayed.stdout);
    expect(events.map((event) => event.Action)).toEqual(expect.arrayContaining(["start", "die"]));
    expect(events.every((event) => event.Actor.Attributes.name === "done")).toBe(true);
    expect(events.find((event) => event.Action === "die")!.Actor.Attributes.exitCode).toBe("0");
    for (const event of events) {
      expect(event.time * 1000).toBeGreaterThanOrEqual(Math.floor(from / 1000) * 1000);
      expect(event.time * 1000).toBeLessThanOrEqual(to);
    }

    // Nothing in a window long before the daemon started.
    const empty = await docker("events", "--since", "1577836800", "--until", "1577840400");
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(empty.stdout).toBe("");
    // And the seed is as it was.
    const state = await docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "done");
    expect(state.stdout.trim()).toBe("exited 0");
  });

  it("docker events refuses --since after --until", async () => {
    const result = await docker("events", "--since", unix(Date.now()), "--until", unix(Date.now() - 60_000));
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/cannot be after `until` time/);
  });
});
