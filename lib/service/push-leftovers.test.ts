import { beforeEach, describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import type { Command, CommandRunner, RunResult } from "../runner/types.ts";
import { PushLeftovers } from "./push-leftovers.ts";

const NAME = "127.0.0.1:5000/app:latest";
const RECORD = `${NAME}-tmp-reduced-platform`;

/** Answers every call with success and keeps it; a removal can be held open. */
class RemovalEngine implements CommandRunner {
  readonly calls: Command[] = [];
  #release: (() => void) | undefined;
  hold = false;

  async run(command: Command): Promise<RunResult> {
    this.calls.push(command);
    if (this.hold) await new Promise<void>((resolve) => (this.#release = resolve));
    return { exitCode: 0, stdout: "", stderr: "" };
  }

  release(): void {
    this.#release?.();
  }

  spawn(): never {
    throw new Error("not used");
  }

  interactive(): never {
    throw new Error("not used");
  }

  removed(): string[][] {
    return this.calls.map((call) => call.args.slice(call.args.indexOf("--") + 1));
  }
}

let engine: RemovalEngine;
let nerdctl: Nerdctl;
let pushes: PushLeftovers;

beforeEach(() => {
  engine = new RemovalEngine();
  nerdctl = new Nerdctl(engine, { namespace: "ns1", requestId: "req-1" });
  pushes = new PushLeftovers();
});

describe("the records killed pushes leave", () => {
  it("removes a killed push's record, and leaves a finished push's to nerdctl", async () => {
    const finished = await pushes.starting(nerdctl, NAME);
    await finished(false);
    expect(engine.calls).toEqual([]);

    const killed = await pushes.starting(nerdctl, NAME);
    await killed(true);
    expect(engine.removed()).toEqual([[RECORD]]);
    expect(engine.calls[0]!.args).toContain("rmi");
  });

  it("waits until no push of the same name runs: they share the record", async () => {
    const killed = await pushes.starting(nerdctl, NAME);
    const other = await pushes.starting(nerdctl, NAME);
    const elsewhere = await pushes.starting(nerdctl.withNamespace("ns2"), NAME);
    await killed(true);
    await elsewhere(false);
    expect(engine.calls).toEqual([]);
    await other(false);
    expect(engine.removed()).toEqual([[RECORD]]);
  });

  it("holds a push of the same name back until the removal is done, so it keeps the record it makes", async () => {
    engine.hold = true;
    const killed = await pushes.starting(nerdctl, NAME);
    const removing = killed(true);
    let started = false;
    const next = pushes.starting(nerdctl, NAME).then((ended) => {
      started = true;
      return ended;
    });
    const otherName = await pushes.starting(nerdctl, "127.0.0.1:5000/other:latest");
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toBe(false);
    engine.release();
    await removing;
    const ended = await next;
    expect(started).toBe(true);
    engine.hold = false;
    await ended(false);
    await otherName(false);
    expect(engine.removed()).toEqual([[RECORD]]);
  });
});
