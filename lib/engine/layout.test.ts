import { describe, expect, it } from "vitest";
import {
  engineEnvironment,
  resolveEngineLayout,
  socketPathProblems,
  type HostProbe,
} from "./layout.ts";

function probe(options: { env?: Record<string, string>; dirs?: string[]; files?: string[] } = {}): HostProbe {
  return {
    env: options.env ?? {},
    isDirectory: (path) => (options.dirs ?? []).includes(path),
    isFile: (path) => (options.files ?? []).includes(path),
  };
}

describe("resolveEngineLayout", () => {
  it("uses the rootful defaults, apart from the system containerd's paths", () => {
    const layout = resolveEngineLayout({}, probe({ dirs: ["/opt/nerdctld-engine/current/bin"] }));

    expect(layout.namespace).toBe("default");
    expect(layout.containerd.socket).toBe("/run/nerdctld/engine/containerd/containerd.sock");
    expect(layout.containerd.ttrpcSocket).toBe("/run/nerdctld/engine/containerd/containerd.sock.ttrpc");
    expect(layout.containerd.root).toBe("/var/lib/nerdctld/engine/containerd");
    expect(layout.containerd.state).toBe("/run/nerdctld/engine/containerd");
    expect(layout.containerd.configPath).toBe("/run/nerdctld/engine/containerd.toml");
    expect(layout.containerd.shimSocketDir).toBe("/run/nerdctld/engine/s");
    expect(layout.buildkitd.socket).toBe("/run/nerdctld/engine/buildkit/buildkitd.sock");
    expect(layout.buildkitd.address).toBe("unix:///run/nerdctld/engine/buildkit/buildkitd.sock");
    expect(layout.buildkitd.root).toBe("/var/lib/nerdctld/engine/buildkit");
    expect(layout.nerdctl.tomlPath).toBe("/run/nerdctld/engine/nerdctl.toml");
    expect(layout.nerdctl.dataRoot).toBe("/var/lib/nerdctld/engine/nerdctl");
    expect(layout.nerdctl.cniNetconfPath).toBe("/var/lib/nerdctld/engine/cni/net.d");
    expect(layout.containerd.pidFile).toBe("/run/nerdctld/engine/containerd.pid");
    expect(layout.buildkitd.logFile).toBe("/run/nerdctld/engine/buildkitd.log");

    const everyPath = JSON.stringify(layout);
    expect(everyPath).not.toMatch(/"\/run\/containerd|"\/var\/lib\/containerd|"\/run\/buildkit|"\/etc\//);
  });

  it("puts everything under the given state and data dirs and namespace", () => {
    const layout = resolveEngineLayout(
      { stateDir: "/tmp/e/run", dataDir: "/tmp/e/data", namespace: "nerdctld" },
      probe(),
    );
    expect(layout.namespace).toBe("nerdctld");
    expect(layout.containerd.socket).toBe("/tmp/e/run/containerd/containerd.sock");
    expect(layout.containerd.root).toBe("/tmp/e/data/containerd");
    expect(layout.buildkitd.root).toBe("/tmp/e/data/buildkit");
    expect(layout.nerdctl.dataRoot).toBe("/tmp/e/data/nerdctl");
  });

  it("takes the binaries from $NERDCTLD_ENGINE_HOME/current/bin when it exists", () => {
    const layout = resolveEngineLayout(
      {},
      probe({ env: { NERDCTLD_ENGINE_HOME: "/srv/engine" }, dirs: ["/srv/engine/current/bin"] }),
    );
    expect(layout.binDir).toBe("/srv/engine/current/bin");
    expect(layout.bin.containerd).toBe("/srv/engine/current/bin/containerd");
    expect(layout.bin.buildctl).toBe("/srv/engine/current/bin/buildctl");
  });

  it("falls back to PATH lookup when the engine home has no bin dir", () => {
    const layout = resolveEngineLayout({}, probe());
    expect(layout.binDir).toBeNull();
    expect(layout.bin).toEqual({
      containerd: "containerd",
      ctr: "ctr",
      buildkitd: "buildkitd",
      buildctl: "buildctl",
      nerdctl: "nerdctl",
    });
  });

  it("uses an explicit bin dir as given", () => {
    const layout = resolveEngineLayout({ binDir: "/my/bin" }, probe());
    expect(layout.bin.nerdctl).toBe("/my/bin/nerdctl");
  });

  it("prefers /opt/cni/bin only when it has the bridge plugin", () => {
    expect(resolveEngineLayout({}, probe()).nerdctl.cniPath).toBe("/usr/lib/cni");
    expect(resolveEngineLayout({}, probe({ dirs: ["/opt/cni/bin"] })).nerdctl.cniPath).toBe("/usr/lib/cni");
    expect(resolveEngineLayout({}, probe({ files: ["/opt/cni/bin/bridge"] })).nerdctl.cniPath).toBe("/opt/cni/bin");
  });

  it("prefers the installed engine's own CNI plugins", () => {
    const files = ["/engine/cni/bridge", "/opt/cni/bin/bridge"];
    expect(resolveEngineLayout({ binDir: "/engine/bin" }, probe({ files })).nerdctl.cniPath).toBe("/engine/cni");
  });

  it("leaves the shim socket dir to containerd when ours would exceed its 42-character limit", () => {
    const stateDir = `/tmp/${"x".repeat(40)}`;
    expect(resolveEngineLayout({ stateDir }, probe()).containerd.shimSocketDir).toBeNull();
  });
});

describe("socketPathProblems", () => {
  it("accepts the default layout", () => {
    expect(socketPathProblems(resolveEngineLayout({}, probe()))).toEqual([]);
  });

  it("reports socket paths over the unix socket limit", () => {
    const layout = resolveEngineLayout({ stateDir: `/tmp/${"d".repeat(80)}` }, probe());
    const problems = socketPathProblems(layout);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toContain("107-byte limit");
    expect(problems.join("\n")).toContain(layout.containerd.ttrpcSocket);
  });
});

describe("engineEnvironment", () => {
  it("points containerd clients at the engine, binDir first on PATH", () => {
    const layout = resolveEngineLayout(
      { stateDir: "/r", dataDir: "/d", namespace: "ns" },
      probe({ dirs: ["/opt/nerdctld-engine/current/bin"] }),
    );
    expect(engineEnvironment(layout, "/usr/bin:/bin")).toEqual({
      CONTAINERD_ADDRESS: "/r/containerd/containerd.sock",
      CONTAINERD_NAMESPACE: "ns",
      CONTAINERD_SNAPSHOTTER: "overlayfs",
      NERDCTL_TOML: "/r/nerdctl.toml",
      BUILDKIT_HOST: "unix:///r/buildkit/buildkitd.sock",
      CNI_PATH: "/usr/lib/cni",
      NETCONFPATH: "/d/cni/net.d",
      PATH: "/opt/nerdctld-engine/current/bin:/usr/bin:/bin",
    });
  });

  it("keeps the inherited PATH alone when binaries come from PATH", () => {
    const layout = resolveEngineLayout({}, probe());
    expect(engineEnvironment(layout, "/usr/bin").PATH).toBe("/usr/bin");
    expect(engineEnvironment(layout, undefined).PATH).toBe("");
  });
});
