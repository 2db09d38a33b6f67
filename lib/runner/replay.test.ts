import { describe, expect, it } from "vitest";
import type { Fixture } from "./fixture.ts";
import { FixtureMissError, ReplayRunner } from "./replay.ts";

const versions = { nerdctl: "v2.3.5", containerd: "2.3.3" };
const fixture = (args: string[], stdout: string, exitCode = 0): Fixture => ({
  program: "nerdctl",
  args,
  stdout,
  stderr: "",
  exitCode,
  versions,
});

describe("ReplayRunner", () => {
  it("serves a recorded call", async () => {
    const runner = new ReplayRunner([fixture(["images", "-q"], "abc\n")]);
    await expect(runner.run({ program: "nerdctl", args: ["images", "-q"] })).resolves.toEqual({
      stdout: "abc\n",
      stderr: "",
      exitCode: 0,
    });
  });

  it("serves repeated recordings of one call in order, then repeats the last", async () => {
    const runner = new ReplayRunner([fixture(["ps"], "one"), fixture(["ps"], "two")]);
    const outputs = [];
    for (let i = 0; i < 3; i++) outputs.push((await runner.run({ program: "nerdctl", args: ["ps"] })).stdout);
    expect(outputs).toEqual(["one", "two", "two"]);
  });

  it("fails loudly on an unrecorded call, naming the closest recorded one", async () => {
    const runner = new ReplayRunner([
      fixture(["image", "inspect", "busybox"], "[]"),
      fixture(["volume", "ls", "--format", "{{json .}}"], ""),
    ]);
    const call = runner.run({ program: "nerdctl", args: ["image", "inspect", "alpine"] });
    await expect(call).rejects.toBeInstanceOf(FixtureMissError);
    await expect(call).rejects.toThrow(/no recorded fixture for: nerdctl image inspect alpine\n {2}closest recorded: nerdctl image inspect busybox/);
    expect(runner.misses).toHaveLength(1);
  });

  it("streams a recorded output through spawn", async () => {
    const runner = new ReplayRunner([fixture(["logs", "web"], "line 1\nline 2\n")]);
    const child = runner.spawn({ program: "nerdctl", args: ["logs", "web"] });
    let text = "";
    for await (const chunk of child.stdout) text += String(chunk);
    expect(text).toBe("line 1\nline 2\n");
    await expect(child.exited).resolves.toMatchObject({ exitCode: 0 });
  });
});

/** Whether a promise has settled by the time what is already queued has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await Promise.resolve();
  return done;
}

describe("ReplayRunner.interactive", () => {
  const session = (stdin: string, stdinClosed: boolean): Fixture => ({
    ...fixture(["exec", "-it", "web", "sh"], "/ # exit\r\n", 3),
    session: { tty: true, stdin, stdinClosed },
  });
  const exec = { program: "nerdctl" as const, args: ["exec", "-it", "web", "sh"] };
  const tty = { columns: 80, rows: 24 };

  it("prints the recorded output, and exits once given the recorded input", async () => {
    const runner = new ReplayRunner([session("exit\r", false)]);
    const child = runner.interactive(exec, { tty });
    child.stdin.write("ex");
    expect(await settled(child.exited)).toBe(false);
    child.stdin.write("it\r");
    await expect(child.exited).resolves.toEqual({ exitCode: 3 });
    expect(Buffer.concat(await child.stdout.toArray()).toString()).toBe("/ # exit\r\n");
  });

  it("waits for stdin to close when the recorded session did", async () => {
    const runner = new ReplayRunner([session("exit\r", true)]);
    const child = runner.interactive(exec, { tty });
    child.stdin.write("exit\r");
    expect(await settled(child.exited)).toBe(false);
    child.stdin.end();
    await expect(child.exited).resolves.toEqual({ exitCode: 3 });
  });

  it("fails loudly when given other input than recorded", async () => {
    const runner = new ReplayRunner([session("exit\r", false)]);
    const child = runner.interactive(exec, { tty });
    child.stdin.write("exiT\r");
    await expect(child.exited).rejects.toThrow(/stdin "exiT\\r" is not the recorded "exit\\r" of: nerdctl exec -it web sh/);
    expect(runner.misses).toHaveLength(1);
  });

  it("ends killed", async () => {
    const child = new ReplayRunner([session("exit\r", false)]).interactive(exec, { tty });
    child.kill();
    await expect(child.exited).resolves.toEqual({ exitCode: 137, signal: "SIGKILL" });
  });
});
