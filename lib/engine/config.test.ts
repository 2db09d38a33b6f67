import { describe, expect, it } from "vitest";
import {
  buildkitdArgs,
  containerdArgs,
  renderBuildkitdConfig,
  renderContainerdConfig,
  renderNerdctlToml,
  tomlString,
} from "./config.ts";
import { resolveEngineLayout, type HostProbe } from "./layout.ts";

const noHost: HostProbe = { env: {}, isDirectory: () => false, isFile: () => false };
const layout = resolveEngineLayout({ stateDir: "/r", dataDir: "/d", namespace: "ns" }, noHost);

/** The `key = value` lines of one TOML table ("" for the top level), in order. */
function tableLines(toml: string, table: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const raw of toml.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    if (current === table) lines.push(line);
  }
  return lines;
}

describe("renderContainerdConfig", () => {
  const toml = renderContainerdConfig(layout);

  it("is a version 3 config with our root, state and no drop-ins", () => {
    expect(tableLines(toml, "")).toEqual(
      expect.arrayContaining([
        "version = 3",
        'root = "/d/containerd"',
        'state = "/r/containerd"',
        "imports = []",
      ]),
    );
  });

  it("listens only on our sockets, ttrpc included (else it would take /run/containerd's)", () => {
    expect(tableLines(toml, "grpc")).toEqual(['address = "/r/containerd/containerd.sock"']);
    expect(tableLines(toml, "ttrpc")).toEqual(['address = "/r/containerd/containerd.sock.ttrpc"']);
  });

  it("disables CRI and NRI by containerd 2.3's plugin ids and requires overlayfs", () => {
    const top = tableLines(toml, "").join("\n");
    for (const id of [
      "io.containerd.grpc.v1.cri",
      "io.containerd.cri.v1.images",
      "io.containerd.cri.v1.runtime",
      "io.containerd.podsandbox.controller.v1.podsandbox",
      "io.containerd.nri.v1.nri",
    ]) {
      expect(top).toMatch(new RegExp(`disabled_plugins = \\[.*"${id.replaceAll(".", "\\.")}"`));
    }
    expect(top).toContain('required_plugins = ["io.containerd.snapshotter.v1.overlayfs"]');
  });

  it("keeps shim sockets and the opt dir in our own directories", () => {
    expect(tableLines(toml, 'plugins."io.containerd.shim.v1.manager"')).toEqual(['socket_dir = "/r/s"']);
    expect(tableLines(toml, 'plugins."io.containerd.internal.v1.opt"')).toEqual(['path = "/d/containerd-opt"']);
  });

  it("omits socket_dir when the state dir is too long for it", () => {
    const longLayout = resolveEngineLayout({ stateDir: `/tmp/${"x".repeat(40)}` }, noHost);
    expect(renderContainerdConfig(longLayout)).not.toContain("socket_dir");
  });
});

describe("renderBuildkitdConfig", () => {
  const toml = renderBuildkitdConfig(layout);

  it("runs only the containerd worker, on our containerd and namespace, with host networking", () => {
    expect(tableLines(toml, "worker.oci")).toEqual(["enabled = false"]);
    expect(tableLines(toml, "worker.containerd")).toEqual([
      "enabled = true",
      'address = "/r/containerd/containerd.sock"',
      'namespace = "ns"',
      'snapshotter = "overlayfs"',
      'networkMode = "host"',
      "gc = true",
    ]);
  });

  it("keeps its root, socket and otel socket in our dirs", () => {
    expect(tableLines(toml, "")).toEqual(['root = "/d/buildkit"']);
    expect(tableLines(toml, "grpc")).toEqual(['address = ["unix:///r/buildkit/buildkitd.sock"]']);
    expect(tableLines(toml, "otel")).toEqual(['socketPath = "/r/buildkit/otel-grpc.sock"']);
  });
});

describe("renderNerdctlToml", () => {
  it("sets every path nerdctl would otherwise take from the system", () => {
    expect(tableLines(renderNerdctlToml(layout), "")).toEqual([
      'address = "/r/containerd/containerd.sock"',
      'namespace = "ns"',
      'snapshotter = "overlayfs"',
      'data_root = "/d/nerdctl"',
      'cni_path = "/usr/lib/cni"',
      'cni_netconfpath = "/d/cni/net.d"',
    ]);
  });
});

describe("daemon argv", () => {
  it("gives containerd only its config", () => {
    expect(containerdArgs(layout)).toEqual(["--config", "/r/containerd.toml"]);
  });

  it("gives buildkitd its config and the containerd-worker-only flags", () => {
    expect(buildkitdArgs(layout)).toEqual([
      "--config",
      "/r/buildkitd.toml",
      "--root",
      "/d/buildkit",
      "--addr",
      "unix:///r/buildkit/buildkitd.sock",
      "--oci-worker=false",
      "--containerd-worker=true",
      "--containerd-worker-addr",
      "/r/containerd/containerd.sock",
      "--containerd-worker-net=host",
      "--allow-insecure-entitlement=network.host",
    ]);
  });
});

describe("tomlString", () => {
  it("escapes quotes, backslashes and control characters", () => {
    expect(tomlString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
  });
});
