import { describe, expect, it } from "vitest";
import { mountPointsUnder } from "./data-removal.ts";

describe("mountPointsUnder", () => {
  const line = (id: number, mountPoint: string) =>
    `${id} 1 0:${id} / ${mountPoint} rw,relatime shared:1 - overlay overlay rw,lowerdir=/x`;

  it("finds mounts at or below the dirs, deepest first, and not in sibling dirs", () => {
    const mountinfo = [
      line(1, "/"),
      line(2, "/tmp/e/run/containerd/io.containerd.runtime.v2.task/default/web/rootfs"),
      line(3, "/tmp/e/data"),
      line(4, "/tmp/e/data/containerd/tmpmounts/m1"),
      line(5, "/tmp/e/run-other/x"),
      line(6, "/tmp/e/data/containerd/tmpmounts/m1"),
      "",
    ].join("\n");
    expect(mountPointsUnder(mountinfo, ["/tmp/e/run", "/tmp/e/data/"])).toEqual([
      "/tmp/e/run/containerd/io.containerd.runtime.v2.task/default/web/rootfs",
      "/tmp/e/data/containerd/tmpmounts/m1", // mounted last on that point: first
      "/tmp/e/data/containerd/tmpmounts/m1",
      "/tmp/e/data",
    ]);
  });

  it("undoes mountinfo's octal escapes", () => {
    expect(mountPointsUnder(line(7, "/tmp/my\\040dir/rootfs"), ["/tmp/my dir"])).toEqual(["/tmp/my dir/rootfs"]);
  });
});
