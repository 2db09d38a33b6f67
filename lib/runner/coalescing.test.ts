import { describe, expect, it } from "vitest";
import { CoalescingRunner } from "./coalescing.ts";
import type { Command, CommandRunner, RunResult } from "./types.ts";

/** A runner whose calls finish only when the test says so. */
function manualRunner() {
  const started: { command: Command; finish(stdout: string): void }[] = [];
  const runner: CommandRunner = {
    run: (command) =>
      new Promise<RunResult>((resolve) => {
        started.push({ command, finish: (stdout) => resolve({ stdout, stderr: "", exitCode: 0 }) });
      }),
    spawn: () => {
      throw new Error("not used");
    },
    interactive: () => {
      throw new Error("not used");
    },
  };
  return { runner, started };
}

const ps: Command = { program: "nerdctl", args: ["ps", "-q"] };
const create: Command = { program: "nerdctl", args: ["create", "busybox"] };

describe("CoalescingRunner", () => {
  it("shares one child between identical concurrent reads", async () => {
    const { runner, started } = manualRunner();
    const coalescing = new CoalescingRunner(runner);
    const reads = [1, 2, 3].map(() => coalescing.run(ps, { shared: true }));
    expect(started).toHaveLength(1);
    started[0]!.finish("a\n");
    expect((await Promise.all(reads)).map((r) => r.stdout)).toEqual(["a\n", "a\n", "a\n"]);
  });

  it("never lets a read join one that started before a change", async () => {
    const { runner, started } = manualRunner();
    const coalescing = new CoalescingRunner(runner);
    const before = coalescing.run(ps, { shared: true });
    void coalescing.run(create);
    const after = coalescing.run(ps, { shared: true });
    expect(started.map((call) => call.command.args[0])).toEqual(["ps", "create", "ps"]);
    started[0]!.finish("old\n");
    started[2]!.finish("old\nnew\n");
    expect((await before).stdout).toBe("old\n");
    expect((await after).stdout).toBe("old\nnew\n");
  });

  it("starts a new child once the shared one has finished", async () => {
    const { runner, started } = manualRunner();
    const coalescing = new CoalescingRunner(runner);
    const first = coalescing.run(ps, { shared: true });
    started[0]!.finish("1");
    await first;
    void coalescing.run(ps, { shared: true });
    expect(started).toHaveLength(2);
  });

  it("never shares calls that are not marked as reads", () => {
    const { runner, started } = manualRunner();
    const coalescing = new CoalescingRunner(runner);
    void coalescing.run(create);
    void coalescing.run(create);
    expect(started).toHaveLength(2);
  });
});
