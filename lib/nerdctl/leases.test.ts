import { describe, expect, it } from "vitest";
import { parseLeases } from "./leases.ts";

describe("ctr leases ls, read", () => {
  it("reads each lease's id, creation second and labels from ctr's padded table", () => {
    const table = [
      "ID                CREATED AT           LABELS                                       ",
      "894597238-EkG5    2026-12-05T22:38:01Z containerd.io/gc.expire=2026-12-06T22:38:01Z ",
      "buildkit-lease    2026-12-05T22:39:00Z buildkit/lease.temporary=x,containerd.io/gc.flat=1",
      "bare              2026-12-05T22:40:00Z ",
      "",
    ].join("\n");
    expect(parseLeases(table)).toEqual([
      { id: "894597238-EkG5", createdAt: new Date("2026-12-05T22:38:01Z"), labels: { "containerd.io/gc.expire": "2026-12-06T22:38:01Z" } },
      { id: "buildkit-lease", createdAt: new Date("2026-12-05T22:39:00Z"), labels: { "buildkit/lease.temporary": "x", "containerd.io/gc.flat": "1" } },
      { id: "bare", createdAt: new Date("2026-12-05T22:40:00Z"), labels: {} },
    ]);
  });

  it("keeps a label value with a space whole instead of dropping what follows it", () => {
    const [lease] = parseLeases("ID CREATED AT LABELS\nx 2026-12-05T22:38:01Z containerd.io/gc.expire=1,note=a b\n");
    expect(lease?.labels).toEqual({ "containerd.io/gc.expire": "1", note: "a b" });
  });

  it("an empty namespace has none", () => {
    expect(parseLeases("ID CREATED AT LABELS \n")).toEqual([]);
  });
});
