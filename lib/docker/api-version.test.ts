import { describe, expect, it } from "vitest";
import { compareVersions } from "./api-version.ts";

describe("compareVersions", () => {
  it("compares numerically, not as text", () => {
    expect(compareVersions("1.9", "1.10")).toBeLessThan(0);
    expect(compareVersions("1.43", "1.43")).toBe(0);
  });
});
