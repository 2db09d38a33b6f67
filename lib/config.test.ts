import { describe, expect, it } from "vitest";
import { addressInNerdctlToml, nerdctlTomlPath } from "./config.ts";

describe("nerdctl.toml", () => {
  it("is NERDCTL_TOML when given, else nerdctl's default for the user", () => {
    expect(nerdctlTomlPath({ nerdctlToml: "/x/n.toml" }, {}, 0)).toBe("/x/n.toml");
    expect(nerdctlTomlPath({}, {}, 0)).toBe("/etc/nerdctl/nerdctl.toml");
    expect(nerdctlTomlPath({}, { HOME: "/home/u" }, 1000)).toBe("/home/u/.config/nerdctl/nerdctl.toml");
    expect(nerdctlTomlPath({}, { XDG_CONFIG_HOME: "/c", HOME: "/home/u" }, 1000)).toBe("/c/nerdctl/nerdctl.toml");
  });

  it("names containerd's address in its top-level `address` key only", () => {
    expect(addressInNerdctlToml('# made by hand\naddress = "/run/k3s/containerd/containerd.sock"\nnamespace = "k8s.io"\n')).toBe(
      "/run/k3s/containerd/containerd.sock",
    );
    expect(addressInNerdctlToml("address='unix:///a b.sock' # quoted\n")).toBe("unix:///a b.sock");
    expect(addressInNerdctlToml('namespace = "default"\n[hosts]\naddress = "/not/top/level"\n')).toBeUndefined();
    expect(addressInNerdctlToml("")).toBeUndefined();
  });
});
