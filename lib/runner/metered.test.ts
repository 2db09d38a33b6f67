import { describe, expect, it } from "vitest";
import { commandVerb, MeteredRunner, type EngineCall } from "./metered.ts";
import type { CommandRunner } from "./types.ts";

describe("commandVerb", () => {
  it("names what the call does by its first words: one for a verb, two for a command group", () => {
    expect(commandVerb({ program: "nerdctl", args: ["container", "inspect", "--", "web"] })).toBe("container inspect");
    expect(commandVerb({ program: "nerdctl", args: ["--namespace", "k8s.io", "image", "inspect", "--mode", "native", "--", "x"] })).toBe("image inspect");
    expect(commandVerb({ program: "nerdctl", args: ["ps", "--all", "--format", "{{json .}}"] })).toBe("ps");
    expect(commandVerb({ program: "nerdctl", args: ["images", "--all"] })).toBe("images");
    expect(commandVerb({ program: "nerdctl", args: ["pull", "--quiet", "--", "busybox"] })).toBe("pull");
    expect(commandVerb({ program: "ctr", args: ["--namespace=default", "task", "start", "--", "abc"] })).toBe("task start");
    expect(commandVerb({ program: "buildctl", args: ["du", "--format", "{{json .}}"] })).toBe("du");
  });

  it("takes no word the client chose: nothing after --, nothing of programs whose argv carries the client's values", () => {
    expect(commandVerb({ program: "nerdctl", args: ["--", "container"] })).toBe("");
    expect(commandVerb({ program: "nerdctl", args: ["container", "--", "inspect"] })).toBe("container");
    expect(commandVerb({ program: "nsenter", args: ["--target", "123", "--mount", "--", "mount", "-t", "overlay"] })).toBe("");
  });
});

describe("MeteredRunner", () => {
  it("reports each call with its program, verb and exit code when it ends", async () => {
    const calls: EngineCall[] = [];
    const inner: CommandRunner = {
      run: async () => ({ stdout: "", stderr: "boom", exitCode: 1 }),
      spawn: () => {
        throw new Error("not used");
      },
      interactive: () => {
        throw new Error("not used");
      },
    };
    await new MeteredRunner(inner, (call) => calls.push(call)).run({ program: "nerdctl", args: ["volume", "rm", "--", "v"] });
    expect(calls).toEqual([{ program: "nerdctl", verb: "volume rm", seconds: expect.any(Number), exitCode: 1 }]);
    expect(calls[0]!.seconds).toBeGreaterThanOrEqual(0);
  });
});
