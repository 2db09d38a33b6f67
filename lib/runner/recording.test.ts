import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterEach, assert, beforeEach, describe, expect, it } from "vitest";
import { readFixtures } from "./fixture.ts";
import { RealRunner } from "./real.ts";
import { RecordingRunner } from "./recording.ts";
import { FixtureMissError, ReplayRunner } from "./replay.ts";

const versions = { nerdctl: "v2.3.5" };
const real = new RealRunner({ binaries: { nerdctl: "/bin/sh" } });
const sh = (script: string) => ({ program: "nerdctl" as const, args: ["-c", script] });
const text = async (stream: Readable) => Buffer.concat(await stream.toArray()).toString();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "recording-runner-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("RecordingRunner.interactive", () => {
  it("records a session over pipes (its input, its output, its exit) which replay then serves", async () => {
    const greet = sh('read name; echo "hi $name"; cat >&2; exit 4');
    const recording = new RecordingRunner(real, dir, versions);
    const child = recording.interactive(greet);
    assert(!child.tty);
    const printed = Promise.all([text(child.stdout), text(child.stderr)]);
    child.stdin.write("bob\n");
    child.stdin.end("rest");
    await expect(child.exited).resolves.toEqual({ exitCode: 4 });
    expect(await printed).toEqual(["hi bob\n", "rest"]);
    expect(await readFixtures(dir)).toEqual([
      {
        ...greet,
        versions,
        exitCode: 4,
        session: { tty: false, stdin: "bob\nrest", stdinClosed: true },
        stdout: "hi bob\n",
        stderr: "rest",
      },
    ]);

    const replay = await ReplayRunner.fromDirectory(dir);
    const again = replay.interactive(greet);
    assert(!again.tty);
    const replayed = Promise.all([text(again.stdout), text(again.stderr)]);
    again.stdin.write("bob\nrest");
    again.stdin.end();
    await expect(again.exited).resolves.toEqual({ exitCode: 4 });
    expect(await replayed).toEqual(["hi bob\n", "rest"]);
    expect(replay.misses).toEqual([]);
  });

  it("records a session under a terminal, served only to a call that asks for one", async () => {
    const size = sh("stty size");
    const recording = new RecordingRunner(real, dir, versions);
    const child = recording.interactive(size, { tty: { columns: 90, rows: 20 } });
    const printed = text(child.stdout);
    await expect(child.exited).resolves.toEqual({ exitCode: 0 });
    expect(await printed).toBe("20 90\r\n");
    expect((await readFixtures(dir))[0]).toMatchObject({ session: { tty: true, stdin: "", stdinClosed: false }, stdout: "20 90\r\n" });

    const replay = await ReplayRunner.fromDirectory(dir);
    const again = replay.interactive(size, { tty: { columns: 90, rows: 20 } });
    expect(await text(again.stdout)).toBe("20 90\r\n");
    await expect(again.exited).resolves.toEqual({ exitCode: 0 });
    expect(() => replay.interactive(size)).toThrow(FixtureMissError);
    expect(() => replay.interactive(size)).toThrow(/no recorded interactive session for: nerdctl -c "stty size"/);
  });
});
