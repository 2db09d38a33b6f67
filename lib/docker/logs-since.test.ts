import { describe, expect, it } from "vitest";
import { lineSince, subSecondSince } from "./logs.ts";

describe("a since bound finer than a second (nerdctl cuts it to the second)", () => {
  it("is read from a Unix time with a fraction or an RFC 3339 time, and only when finer than a second", () => {
    expect(subSecondSince("1796446650.777754819")).toBe(1_796_446_650_777_754_819n);
    expect(subSecondSince("1796446650.5")).toBe(1_796_446_650_500_000_000n);
    expect(subSecondSince("2026-12-05T04:57:30.777Z")).toBe(BigInt(Date.parse("2026-12-05T04:57:30Z")) * 1_000_000n + 777_000_000n);
    expect(subSecondSince("1796446650")).toBeUndefined();
    expect(subSecondSince("2026-12-05T04:57:30Z")).toBeUndefined();
    expect(subSecondSince(undefined)).toBeUndefined();
  });

  it("drops the lines before it and the timestamps the client did not ask for", () => {
    const since = subSecondSince("2026-12-05T04:57:30.5Z")!;
    expect(lineSince("2026-12-05T04:57:30.081663292Z tick", since, false)).toBeUndefined();
    expect(lineSince("2026-12-05T04:57:30.5Z at the bound", since, false)).toBe("at the bound");
    expect(lineSince("2026-12-05T04:57:30.9Z after it", since, true)).toBe("2026-12-05T04:57:30.9Z after it");
    expect(lineSince("no timestamp here", since, false)).toBe("no timestamp here");
  });
});
