import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { identityAlive, ownIdentity } from "./process-identity.ts";

describe("process identities", () => {
  it("name this process as alive", () => {
    expect(ownIdentity()).toMatch(/^\d+:\d+$/);
    expect(identityAlive(ownIdentity())).toBe(true);
  });

  it("take a process that ended, or another start time for the same pid, as gone", () => {
    const ended = spawnSync("true").pid!;
    const [, started] = ownIdentity().split(":");
    expect(identityAlive(`${ended}:${started}`)).toBe(false);
    expect(identityAlive(`${process.pid}:${Number(started) + 1}`)).toBe(false);
    expect(identityAlive("garbage")).toBe(false);
    expect(identityAlive("")).toBe(false);
  });
});
