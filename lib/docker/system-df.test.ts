import { describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import type { CommandRunner, RunResult } from "../runner/types.ts";
import { buildCache, parseDiskUsageTypes, toBuildCache } from "./system-df.ts";

const answering = (result: RunResult | Error): CommandRunner => ({
  run: async () => {
    if (result instanceof Error) throw result;
    return result;
  },
  spawn: () => {
    throw new Error("not used");
  },
});

describe("build cache", () => {
  it("is empty when BuildKit has none (buildctl prints null), or cannot be asked", async () => {
    expect(toBuildCache(null)).toEqual([]);
    expect(await buildCache(new Nerdctl(answering({ stdout: "null\n", stderr: "", exitCode: 0 })))).toEqual([]);
    expect(await buildCache(new Nerdctl(answering({ stdout: "", stderr: "connection refused", exitCode: 1 })))).toEqual([]);
    expect(await buildCache(new Nerdctl(answering(new Error("spawn buildctl ENOENT"))))).toEqual([]);
  });

  it("keeps parents, and leaves an empty list of them null as dockerd does", () => {
    expect(toBuildCache([{ id: "a", parents: ["b"], recordType: "regular", size: 3, shared: true, inUse: true }])).toEqual([
      { ID: "a", Parents: ["b"], Type: "regular", Description: "", InUse: true, Shared: true, Size: 3, CreatedAt: "", LastUsedAt: null, UsageCount: 0 },
    ]);
  });
});

describe("type", () => {
  it("means everything when absent, and may repeat", () => {
    expect([...parseDiskUsageTypes(undefined)]).toEqual(["container", "image", "volume", "build-cache"]);
    expect([...parseDiskUsageTypes(["image", "volume"])]).toEqual(["image", "volume"]);
    expect(() => parseDiskUsageTypes("images")).toThrow(/unknown object type: images/);
  });
});
