import { describe, expect, it } from "vitest";
import { lineSince, parseLogsQuery, subSecondSince } from "./logs.ts";

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

describe("a tail of 0 (nerdctl reads it as every line)", () => {
  const now = new Date("2026-12-05T04:57:30.250Z");
  const query = { stdout: true, stderr: true, follow: true, timestamps: false };

  it("is a bound at the moment of the request: no line written before it, every one after", () => {
    expect(parseLogsQuery({ ...query, tail: "0" }, now).options).toEqual({ follow: true, timestamps: false, since: "2026-12-05T04:57:30.250Z", until: undefined, tail: undefined });
    expect(subSecondSince(parseLogsQuery({ ...query, tail: "0" }, now).options.since)).toBe(BigInt(now.getTime()) * 1_000_000n);
  });

  it("keeps the client's since when that is later, and leaves other tails to nerdctl", () => {
    expect(parseLogsQuery({ ...query, tail: "0", since: "1000000000" }, now).options.since).toBe("2026-12-05T04:57:30.250Z");
    expect(parseLogsQuery({ ...query, tail: "0", since: "2026-12-05T04:58:00Z" }, now).options.since).toBe("2026-12-05T04:58:00Z");
    expect(parseLogsQuery({ ...query, tail: "2" }, now).options).toMatchObject({ since: undefined, tail: "2" });
  });
});
