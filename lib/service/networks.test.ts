import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../errors.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { readFixtures } from "../runner/fixture.ts";
import type { Command, CommandRunner, RunResult } from "../runner/types.ts";
import { statusOf } from "../server/error-response.ts";
import { NO_EVENTS } from "./events/bus.ts";
import { networkRemove } from "./networks.ts";
import type { Scope } from "./scope.ts";
import { NamespaceState } from "./state/namespace-state.ts";

/** nerdctl 2.3.5's answer to inspecting a network that is not there (fixtures/failures). */
let notFoundStderr: string;
beforeAll(async () => {
  const failures = await readFixtures(join(import.meta.dirname, "..", "..", "fixtures", "failures"));
  notFoundStderr = failures.find((fixture) => fixture.args.join(" ") === "network inspect -- nosuch")!.stderr;
});

/** An engine whose `network rm` fails as it does when another removal took the network first; `exists` says whether inspect still finds it. */
class RacingEngine implements CommandRunner {
  constructor(private readonly exists: boolean) {}

  async run(command: Command): Promise<RunResult> {
    const args = command.args.join(" ");
    if (args.startsWith("network rm")) return { stdout: "", stderr: 'time="2026-12-05T13:47:30Z" level=fatal msg="no network could be removed"\n', exitCode: 1 };
    if (args.startsWith("network inspect")) {
      return this.exists
        ? { stdout: JSON.stringify([{ CNI: { name: "racy", plugins: [{ type: "bridge" }] }, NerdctlID: "f".repeat(64) }]), stderr: "", exitCode: 0 }
        : { stdout: "", stderr: notFoundStderr, exitCode: 1 };
    }
    throw new Error(`unexpected call: ${args}`);
  }

  spawn(): never {
    throw new Error("not used");
  }

  interactive(): never {
    throw new Error("not used");
  }
}

async function removal(exists: boolean): Promise<{ status: number; message: string }> {
  const nerdctl = new Nerdctl(new RacingEngine(exists));
  const scope = { nerdctl, state: new NamespaceState(nerdctl, { subscribeGraceMs: 0, now: Date.now }), events: NO_EVENTS } as unknown as Scope;
  const error = await networkRemove(scope, "racy").then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return { status: statusOf(error), message: error.message };
}

describe("networkRemove racing another removal", () => {
  it("answers Docker's 404 when the network is gone by the time nerdctl fails", async () => {
    expect(await removal(false)).toEqual({ status: 404, message: "network racy not found" });
  });

  it("keeps nerdctl's failure when the network is still there", async () => {
    expect(await removal(true)).toEqual({ status: 500, message: "no network could be removed" });
  });
});
