import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { LimitingRunner } from "./limiting.ts";
import type { Command, CommandRunner, InteractiveCommand, RunResult, RunningCommand } from "./types.ts";

/** A runner whose buffered calls finish when the test says so, and whose streams never end by themselves. */
function manualRunner() {
  const started: { command: Command; finish(): void }[] = [];
  const streams: Command[] = [];
  const never = new Promise<never>(() => {});
  const runner: CommandRunner = {
    run: (command) =>
      new Promise<RunResult>((resolve) => {
        started.push({ command, finish: () => resolve({ stdout: command.args.join(" "), stderr: "", exitCode: 0 }) });
      }),
    spawn: (command): RunningCommand => {
      streams.push(command);
      return { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), exited: never, kill: () => {} };
    },
    interactive: (command): InteractiveCommand => {
      streams.push(command);
      return { tty: false, stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), exited: never, kill: () => {} };
    },
  };
  return { runner, started, streams };
}

const call = (name: string): Command => ({ program: "nerdctl", args: ["container", "inspect", "--", name] });
const names = (started: { command: Command }[]) => started.map(({ command }) => command.args.at(-1));
/** Lets every promise callback that can run, run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("LimitingRunner", () => {
  it("runs at most `limit` buffered calls at once; the others wait and start in the order they came", async () => {
    const { runner, started } = manualRunner();
    const limited = new LimitingRunner(runner, 2);
    const results = ["a", "b", "c", "d"].map((name) => limited.run(call(name)));
    await settle();
    expect(names(started)).toEqual(["a", "b"]);
    expect([limited.running, limited.queued]).toEqual([2, 2]);
    started[1]!.finish();
    await settle();
    expect(names(started)).toEqual(["a", "b", "c"]);
    started[0]!.finish();
    started[2]!.finish();
    await settle();
    expect(names(started)).toEqual(["a", "b", "c", "d"]);
    started[3]!.finish();
    expect((await Promise.all(results)).map((result) => result.stdout)).toEqual(["container inspect -- a", "container inspect -- b", "container inspect -- c", "container inspect -- d"]);
    expect([limited.running, limited.queued]).toEqual([0, 0]);
  });

  it("frees the place of a call that fails", async () => {
    const failing: CommandRunner = { ...manualRunner().runner, run: () => Promise.reject(new Error("spawn ENOENT")) };
    const limited = new LimitingRunner(failing, 1);
    await expect(limited.run(call("a"))).rejects.toThrow("spawn ENOENT");
    await expect(limited.run(call("b"))).rejects.toThrow("spawn ENOENT");
    expect(limited.running).toBe(0);
  });

  it("drops a waiting call whose client went away, without running it, and keeps the order of the rest", async () => {
    const { runner, started } = manualRunner();
    const limited = new LimitingRunner(runner, 1);
    void limited.run(call("a"));
    const gone = new AbortController();
    const abandoned = limited.run(call("b"), { signal: gone.signal });
    void limited.run(call("c"));
    gone.abort(new Error("client gone"));
    await expect(abandoned).rejects.toThrow("client gone");
    expect(limited.queued).toBe(1);
    started[0]!.finish();
    await settle();
    expect(names(started)).toEqual(["a", "c"]);
  });

  it("never holds back streams nor counts them: event sources, logs -f, attach and held stdio cannot starve the calls that end them", async () => {
    const { runner, started, streams } = manualRunner();
    const limited = new LimitingRunner(runner, 1);
    // More children that never end than there are places.
    limited.spawn({ program: "nerdctl", args: ["events", "--format", "{{json .}}"] });
    limited.spawn({ program: "nerdctl", args: ["logs", "--follow", "--", "web"] });
    limited.interactive({ program: "nerdctl", args: ["start", "--attach", "--", "held"] });
    expect(streams).toHaveLength(3);
    // A buffered call (the stop that would end one of them) still runs at once.
    const stop = limited.run({ program: "nerdctl", args: ["stop", "--", "held"] });
    await settle();
    expect(names(started)).toEqual(["held"]);
    // And a stream started while every place is taken is not queued behind the buffered call.
    limited.spawn({ program: "nerdctl", args: ["logs", "--follow", "--", "other"] });
    expect(streams).toHaveLength(4);
    started[0]!.finish();
    await stop;
  });

  it("refuses a limit that is not a positive whole number", () => {
    expect(() => new LimitingRunner(manualRunner().runner, 0)).toThrow(/positive integer/);
  });
});
