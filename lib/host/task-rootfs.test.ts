import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { taskRootfs } from "./task-rootfs.ts";

const ID = "c47ab7afcbe8fd6ba27250565258fe1f29ca12a43300b40781ca13fae8cd3530";
const OTHER = "073079d89060fbdcd54ca07477e1c336273ffe58429552ad954a79e6ebf88024";

describe("taskRootfs", () => {
  it("finds the rootfs the shim mounted for the container's task, and nothing for another", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mountinfo-"));
    try {
      const mountinfo = join(dir, "mountinfo");
      await writeFile(
        mountinfo,
        [
          "27 1 0:25 / / rw,relatime - overlay overlay rw,lowerdir=/x",
          `63 27 0:44 / /run/containerd/io.containerd.runtime.v2.task/my\\040ns/${ID}/rootfs rw,relatime - overlay overlay rw,lowerdir=/a`,
          `64 27 0:45 / /elsewhere/${OTHER}/rootfs rw,relatime - overlay overlay rw,lowerdir=/b`,
          "",
        ].join("\n"),
      );
      expect(await taskRootfs(ID, mountinfo)).toBe(`/run/containerd/io.containerd.runtime.v2.task/my ns/${ID}/rootfs`);
      expect(await taskRootfs(OTHER, mountinfo)).toBeUndefined();
      expect(await taskRootfs("../../etc", mountinfo)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
