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
