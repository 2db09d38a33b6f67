import { join } from "node:path";
import { PassThrough } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { readFixtures } from "../runner/fixture.ts";
import type { Command, CommandRunner, RunResult, RunningCommand } from "../runner/types.ts";
import { CrashLoggingRunner } from "./crash-log.ts";

/** Ends every call as told; a spawned child exits with the same result. */
class EndingRunner implements CommandRunner {
  constructor(public result: RunResult) {}

  async run(): Promise<RunResult> {
    return this.result;
  }

  spawn(): RunningCommand {
    return { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), exited: Promise.resolve(this.result), kill: () => {} };
  }

  interactive(): never {
    throw new Error("not used");
  }
}

const HISTORY: Command = { program: "nerdctl", args: ["image", "history", "--", "e2e/undated:1"], requestId: "req-1" };

describe("the crash log", () => {
  /** nerdctl 2.3.5's `image history` on an image whose history has no dates (fixtures/images-undated). */
  let panic: string;
  beforeAll(async () => {
    const recorded = await readFixtures(join(import.meta.dirname, "..", "..", "fixtures", "images-undated"));
    panic = recorded.find((fixture) => fixture.args[1] === "history")!.stderr;
  });

  it("writes a crash's trace in full the first time a place crashes, then one line, each as its call's request", async () => {
    const logged: [string, string | undefined][] = [];
    const inner = new EndingRunner({ exitCode: 2, stdout: "", stderr: panic });
    const runner = new CrashLoggingRunner(inner, (line, fields) => logged.push([line, fields.request_id]));
    expect(await runner.run(HISTORY)).toBe(inner.result);
    inner.result = { ...inner.result, stderr: panic.replace(/0x[0-9a-f]+/g, "0x1") };
    await runner.spawn({ ...HISTORY, requestId: "req-2" }).exited;
    await Promise.resolve();
    const line = "nerdctl crashed: runtime error: invalid memory address or nil pointer dereference (nerdctl image history -- e2e/undated:1)";
    expect(logged).toEqual([
      [`${line}\n${panic.trim()}`, "req-1"],
      [`${line} (again; its trace is above)`, "req-2"],
    ]);
  });

  it("writes nothing for a failure that is not a crash, nor for a success", async () => {
    const logged: string[] = [];
    const inner = new EndingRunner({ exitCode: 1, stdout: "", stderr: 'level=fatal msg="panic: not really"' });
    const runner = new CrashLoggingRunner(inner, (line) => logged.push(line));
    await runner.run(HISTORY);
    inner.result = { exitCode: 0, stdout: "", stderr: panic };
    await runner.run(HISTORY);
    expect(logged).toEqual([]);
  });

  it("names a call of hundreds of ids by its start", async () => {
    const logged: string[] = [];
    const runner = new CrashLoggingRunner(new EndingRunner({ exitCode: 2, stdout: "", stderr: panic }), (line) => logged.push(line));
    await runner.run({ program: "nerdctl", args: ["container", "inspect", "--", ...Array.from({ length: 300 }, () => "f".repeat(64))] });
    expect(logged[0]!.split("\n")[0]).toMatch(/^nerdctl crashed: .* \(nerdctl container inspect -- [f ]{150,}…\)$/);
  });
});
