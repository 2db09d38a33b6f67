import { describe, expect, it } from "vitest";
import { parseDiskUsageTypes, toBuildCache } from "./system-df.ts";

describe("build cache", () => {
  it("is empty when BuildKit has none (buildctl prints null)", () => {
    expect(toBuildCache(null)).toEqual([]);
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
