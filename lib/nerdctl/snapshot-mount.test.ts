import { describe, expect, it } from "vitest";
import { HOLDER_ARGS, mountArgs, parseMountCommands, snapshotMountsArgs } from "./snapshot-mount.ts";

const ID = "068ac2173cce4ffd961c38c65eabaa050bd1aae7dafb611a418ab249db020ca6";
const SNAPSHOTS = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots";

describe("ctr snapshots mounts", () => {
  it("asks for the container's snapshot in its namespace, every value one argv word", () => {
    expect(snapshotMountsArgs({ namespace: "k8s.io", snapshotter: "overlayfs", key: ID }, "/tmp/t")).toEqual([
      "--namespace=k8s.io",
      "snapshots",
      "--snapshotter=overlayfs",
      "mounts",
      "/tmp/t",
      ID,
    ]);
    expect(snapshotMountsArgs({ snapshotter: "native", key: ID }, "/tmp/t")[0]).toBe("snapshots");
  });

  it.each([
    ["a snapshotter that reads as a flag", { snapshotter: "--privileged", key: ID }],
    ["a snapshotter with a newline", { snapshotter: "overlayfs\n-v", key: ID }],
    ["a key that is not a container id", { snapshotter: "overlayfs", key: "-v/:/h" }],
    ["a key with a NUL", { snapshotter: "overlayfs", key: `${ID}\0` }],
  ])("refuses %s", (_label, ref) => {
    expect(() => snapshotMountsArgs(ref, "/tmp/t")).toThrow(/invalid/);
  });

  it("reads the mount lines ctr prints, and only for the asked target", () => {
    const line = `mount -t overlay overlay /tmp/t -o index=off,workdir=${SNAPSHOTS}/25/work,upperdir=${SNAPSHOTS}/25/fs,lowerdir=${SNAPSHOTS}/21/fs\n`;
    expect(parseMountCommands(line, "/tmp/t")).toEqual([
      { type: "overlay", source: "overlay", target: "/tmp/t", options: `index=off,workdir=${SNAPSHOTS}/25/work,upperdir=${SNAPSHOTS}/25/fs,lowerdir=${SNAPSHOTS}/21/fs` },
    ]);
    expect(() => parseMountCommands("mount -t bind / /etc -o rbind\n", "/tmp/t")).toThrow(/outside/);
    expect(() => parseMountCommands("rm -rf /\n", "/tmp/t")).toThrow(/unexpected/);
    expect(() => parseMountCommands("", "/tmp/t")).toThrow(/no mount/);
  });
});

describe("mounting in the holder's namespace", () => {
  it("holds the namespace with a cat that prints its own pid first", () => {
    expect(HOLDER_ARGS).toEqual(["--mount", "--propagation", "private", "--", "cat", "/proc/self/stat", "-"]);
  });

  it("runs mount(8) inside it with containerd's options", () => {
    expect(mountArgs(42, { type: "overlay", source: "overlay", target: "/tmp/t", options: "lowerdir=/a/1/fs,index=off" })).toEqual([
      "--target=42",
      "--mount",
      "--",
      "mount",
      "-t",
      "overlay",
      "-o",
      "lowerdir=/a/1/fs,index=off",
      "overlay",
      "/tmp/t",
    ]);
  });

  it("makes long lower directories relative to the directory they share, as containerd does", () => {
    const lowers = Array.from({ length: 80 }, (_, index) => `${SNAPSHOTS}/${index + 100}/fs`);
    const args = mountArgs(42, { type: "overlay", source: "overlay", target: "/tmp/t", options: `upperdir=${SNAPSHOTS}/9/fs,lowerdir=${lowers.join(":")}` });
    expect(args.slice(0, 3)).toEqual(["--target=42", "--mount", `--wd=${SNAPSHOTS}`]);
    const options = args[args.indexOf("-o") + 1]!;
    expect(options).toBe(`upperdir=${SNAPSHOTS}/9/fs,lowerdir=${lowers.map((_, index) => `${index + 100}/fs`).join(":")}`);
    expect(options.length).toBeLessThan(4000);
  });
});
