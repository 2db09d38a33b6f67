import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dataStoreName, nerdctlFiles, networkDirectories, topLevelTomlString, volumeDirectory } from "./files.ts";

describe("where nerdctl keeps volumes and networks", () => {
  const toml = ['address = "/run/k3s/containerd/containerd.sock"', 'namespace = "k8s.io"', "data_root = '/data/nerdctl'", 'cni_netconfpath = "/data/net.d"', "[hosts]", 'data_root = "/not/top/level"'].join("\n");

  it("takes the environment over nerdctl.toml over nerdctl's rootful defaults", () => {
    expect(nerdctlFiles({}, "", true)).toEqual({ dataRoot: "/var/lib/nerdctl", netconfPath: "/etc/cni/net.d", address: "/run/containerd/containerd.sock", namespace: "default" });
    expect(nerdctlFiles({}, toml, true)).toEqual({ dataRoot: "/data/nerdctl", netconfPath: "/data/net.d", address: "/run/k3s/containerd/containerd.sock", namespace: "k8s.io" });
    expect(nerdctlFiles({ CONTAINERD_ADDRESS: "/a.sock", NETCONFPATH: "/n", CONTAINERD_NAMESPACE: "ns" }, toml, true)).toEqual({
      dataRoot: "/data/nerdctl",
      netconfPath: "/n",
      address: "/a.sock",
      namespace: "ns",
    });
  });

  it("is not known for rootless nerdctl", () => {
    expect(nerdctlFiles({}, toml, false)).toBeUndefined();
  });

  it("reads top-level keys of nerdctl.toml only", () => {
    expect(topLevelTomlString(toml, "data_root")).toBe("/data/nerdctl");
    expect(topLevelTomlString('namespace = "default"\n[hosts]\naddress = "/x"\n', "address")).toBeUndefined();
    expect(topLevelTomlString('a = "\\u00e9\\"" # comment', "a")).toBe('é"');
  });

  it("names the data store as nerdctl 2.3 does, by the socket's real path", () => {
    // The store nerdctl 2.3.5 made for a managed engine's socket at this path.
    expect(dataStoreName("/tmp/run-dev/state/containerd/containerd.sock")).toBe("3d94df48");
    const dir = mkdtempSync(join(tmpdir(), "nerdctld-files-"));
    try {
      writeFileSync(join(dir, "containerd.sock"), "");
      symlinkSync(join(dir, "containerd.sock"), join(dir, "link.sock"));
      const files = { dataRoot: "/data", netconfPath: "/n", address: `unix://${join(dir, "link.sock")}`, namespace: "default" };
      expect(volumeDirectory(files, "ns")).toBe(join("/data", dataStoreName(join(dir, "containerd.sock")), "volumes", "ns"));
      expect(() => volumeDirectory({ ...files, address: join(dir, "gone.sock") }, "ns")).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("puts a namespace's networks in its own directory, beside the shared one", () => {
    expect(networkDirectories({ dataRoot: "/d", netconfPath: "/etc/cni/net.d", address: "/a", namespace: "default" }, "ns")).toEqual(["/etc/cni/net.d", "/etc/cni/net.d/ns"]);
  });
});
