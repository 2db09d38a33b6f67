import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readFixtures } from "../runner/fixture.ts";
import type { Command, CommandRunner, RunResult } from "../runner/types.ts";
import { Nerdctl } from "./client.ts";
import { createVolume } from "./volumes.ts";

/** nerdctl 2.3.5's answer to inspecting a volume that is not there (fixtures/failures). */
let notFound: RunResult;
beforeAll(async () => {
  const failures = await readFixtures(join(import.meta.dirname, "..", "..", "fixtures", "failures"));
  const fixture = failures.find((candidate) => candidate.args.join(" ") === "volume inspect -- nosuch")!;
  notFound = { stdout: fixture.stdout, stderr: fixture.stderr, exitCode: fixture.exitCode };
});

/** An engine where another request removes the volume right after each of the first `removals` creations. */
class RacingEngine implements CommandRunner {
  readonly calls: string[] = [];
  constructor(private removals: number) {}

  async run(command: Command): Promise<RunResult> {
    const args = command.args.join(" ");
    this.calls.push(args.split(" --")[0]!);
    if (args.startsWith("volume create")) return { stdout: "racy\n", stderr: "", exitCode: 0 };
    if (args.startsWith("volume inspect")) {
      if (this.removals > 0) {
        this.removals -= 1;
        return notFound;
      }
      return { stdout: JSON.stringify([{ Name: "racy", Mountpoint: "/var/lib/nerdctl/volumes/default/racy/_data", Labels: {} }]), stderr: "", exitCode: 0 };
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

describe("createVolume racing a removal", () => {
  it("makes the volume again when another request removed it between the creation and the inspection", async () => {
    const engine = new RacingEngine(1);
    const volume = await createVolume(new Nerdctl(engine), { name: "racy", labels: {} });
    expect(volume.Name).toBe("racy");
    expect(engine.calls).toEqual(["volume create", "volume inspect", "volume create", "volume inspect"]);
  });

  it("gives up with Docker's 404 when it keeps being removed", async () => {
    await expect(createVolume(new Nerdctl(new RacingEngine(5)), { name: "racy", labels: {} })).rejects.toMatchObject({ kind: "not-found" });
  });
});
