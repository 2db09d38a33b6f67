import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFixture, type Fixture } from "../lib/runner/fixture.ts";
import { compareFixtureDirs } from "./fixture-drift.ts";

const base: Fixture = {
  program: "nerdctl",
  args: ["info", "--format", "{{json .}}"],
  stdout: '{"ID":"x","NCPU":2,"Plugins":{"Log":["json-file"]}}\n',
  stderr: "",
  exitCode: 0,
  versions: { nerdctl: "v2.3.5" },
};

let before: string;
let after: string;
beforeEach(async () => {
  before = await mkdtemp(join(tmpdir(), "drift-a-"));
  after = await mkdtemp(join(tmpdir(), "drift-b-"));
  await writeFixture(join(before, "system"), "001-info.json", base);
});
afterEach(async () => {
  await rm(before, { recursive: true, force: true });
  await rm(after, { recursive: true, force: true });
});

describe("compareFixtureDirs", () => {
  it("ignores new values in the same shape", async () => {
    await writeFixture(join(after, "system"), "001-info.json", { ...base, stdout: '{"ID":"y","NCPU":8,"Plugins":{"Log":["journald"]}}\n' });
    expect(await compareFixtureDirs(before, after)).toEqual([]);
  });

  it("reports a renamed field, a changed type and a changed exit code", async () => {
    await writeFixture(join(after, "system"), "001-info.json", {
      ...base,
      exitCode: 1,
      stdout: '{"Id":"x","NCPU":"2","Plugins":{"Log":["json-file"]}}\n',
    });
    const drift = await compareFixtureDirs(before, after);
    expect(drift).toHaveLength(2);
    expect(drift[0]).toBe("~ system: nerdctl info --format {{json .}}: exit code 0 -> 1");
    expect(drift[1]).toMatch(/stdout shape\n {4}was: .*"ID":"string".*\n {4}now: .*"Id":"string"/);
  });

  it("reports calls that are no longer or newly recorded", async () => {
    await writeFixture(join(after, "system"), "001-version.json", { ...base, args: ["version", "--format", "{{json .}}"] });
    expect(await compareFixtureDirs(before, after)).toEqual([
      "- system: nerdctl info --format {{json .}}: no longer recorded",
      "+ system: nerdctl version --format {{json .}}: newly recorded",
    ]);
  });

  it("matches calls by kind, not by file name or the ids they name", async () => {
    const id = (n: number) => String(n).repeat(64).slice(0, 64);
    await writeFixture(join(before, "system"), "002-inspect.json", { ...base, args: ["container", "inspect", "--", id(1)], stdout: "[]" });
    await writeFixture(join(after, "system"), "009-inspect.json", { ...base, args: ["container", "inspect", "--", id(2)], stdout: "[]" });
    await writeFixture(join(after, "system"), "001-info.json", base);
    expect(await compareFixtureDirs(before, after)).toEqual([]);
  });
});
