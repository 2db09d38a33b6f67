import { statSync } from "node:fs";
import { join } from "node:path";

/**
 * Where a managed engine keeps everything: its own sockets, roots, configs,
 * pid files and logs, so it never shares a path with a system containerd
 * (Debian's containerd at /run/containerd, /var/lib/containerd) or buildkitd.
 *
 * The defaults are the rootful ones; a rootless engine is out of scope.
 */
export interface EngineLayoutOptions {
  /** Volatile state: sockets, pid files, logs, generated configs. */
  stateDir?: string;
  /** Persistent data: images, snapshots, build cache, nerdctl state, CNI configs. */
  dataDir?: string;
  /** containerd namespace for nerdctl and for buildkitd's worker. */
  namespace?: string;
  /** Directory holding containerd, ctr, buildkitd, buildctl, nerdctl, runc and the shim. */
  binDir?: string;
}

export type EngineProgram = "containerd" | "ctr" | "buildkitd" | "buildctl" | "nerdctl";

export interface ContainerdLayout {
  /** The gRPC socket path (what CONTAINERD_ADDRESS and `ctr --address` take). */
  socket: string;
  ttrpcSocket: string;
  root: string;
  state: string;
  configPath: string;
  /**
   * Where shims put their sockets. containerd 2.3 caps this at 42 characters;
   * null leaves containerd's default (/run/containerd/s), which is shared with a
   * system containerd but safe: shim socket names hash the containerd address.
   */
  shimSocketDir: string | null;
  /** containerd's "opt" plugin directory, otherwise /opt/containerd. */
  optDir: string;
  pidFile: string;
  logFile: string;
}

export interface BuildkitdLayout {
  socket: string;
  /** `unix://` + socket: what BUILDKIT_HOST and `buildctl --addr` take. */
  address: string;
  root: string;
  configPath: string;
  /** buildkitd otherwise listens on /run/buildkit/otel-grpc.sock, shared with any system buildkitd. */
  otelSocket: string;
  pidFile: string;
  logFile: string;
}

export interface NerdctlLayout {
  tomlPath: string;
  dataRoot: string;
  cniNetconfPath: string;
  cniPath: string;
  snapshotter: string;
}

export interface EngineLayout {
  namespace: string;
  stateDir: string;
  dataDir: string;
  /** null when the engine's programs are taken from PATH. */
  binDir: string | null;
  /** Absolute paths, or bare names looked up on PATH when binDir is null. */
  bin: Record<EngineProgram, string>;
  containerd: ContainerdLayout;
  buildkitd: BuildkitdLayout;
  nerdctl: NerdctlLayout;
  /** Held while an engine of this layout is being started, so two starts do not race. */
  startLockFile: string;
}

/** What the layout needs to know about the host; injected so the computation stays pure. */
export interface HostProbe {
  env: Readonly<Record<string, string | undefined>>;
  isDirectory(path: string): boolean;
  isFile(path: string): boolean;
}

export const DEFAULT_STATE_DIR = "/run/nerdctld/engine";
export const DEFAULT_DATA_DIR = "/var/lib/nerdctld/engine";
export const DEFAULT_ENGINE_HOME = "/opt/nerdctld-engine";
export const DEFAULT_NAMESPACE = "default";
export const DEFAULT_SNAPSHOTTER = "overlayfs";

/** Linux sun_path is 108 bytes including the terminating NUL. */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;
/** containerd 2.3 refuses a shim socket_dir longer than this (107 - "/" - 64 hex chars). */
export const MAX_SHIM_SOCKET_DIR_LENGTH = 42;

const PROGRAMS: readonly EngineProgram[] = ["containerd", "ctr", "buildkitd", "buildctl", "nerdctl"];

/** The directory install-engine.sh fills, or null when it does not exist (then PATH is used). */
export function defaultBinDir(probe: HostProbe): string | null {
  const engineHome = probe.env.NERDCTLD_ENGINE_HOME || DEFAULT_ENGINE_HOME;
  const dir = join(engineHome, "current", "bin");
  return probe.isDirectory(dir) ? dir : null;
}

/** nerdctl looks in /opt/cni/bin first; Debian's containernetworking-plugins live in /usr/lib/cni. */
/**
 * The CNI plugins nerdctl's networks run: the installed engine's own (built
 * with their version, which nerdctl checks before trusting the firewall plugin
 * to isolate networks), else the usual system directories.
 */
export function defaultCniPath(probe: HostProbe, binDir?: string | null): string {
  const engineCni = binDir ? join(binDir, "..", "cni") : undefined;
  if (engineCni && probe.isFile(join(engineCni, "bridge"))) return engineCni;
  return probe.isFile("/opt/cni/bin/bridge") ? "/opt/cni/bin" : "/usr/lib/cni";
}

export function resolveEngineLayout(options: EngineLayoutOptions, probe: HostProbe): EngineLayout {
  const stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const binDir = options.binDir ?? defaultBinDir(probe);

  const bin = Object.fromEntries(
    PROGRAMS.map((program) => [program, binDir === null ? program : join(binDir, program)]),
  ) as Record<EngineProgram, string>;

  const containerdState = join(stateDir, "containerd");
  const containerdSocket = join(containerdState, "containerd.sock");
  const shimSocketDir = join(stateDir, "s");

  const buildkitState = join(stateDir, "buildkit");
  const buildkitSocket = join(buildkitState, "buildkitd.sock");

  return {
    namespace,
    stateDir,
    dataDir,
    binDir,
    bin,
    containerd: {
      socket: containerdSocket,
      ttrpcSocket: `${containerdSocket}.ttrpc`,
      root: join(dataDir, "containerd"),
      state: containerdState,
      configPath: join(stateDir, "containerd.toml"),
      shimSocketDir: shimSocketDir.length <= MAX_SHIM_SOCKET_DIR_LENGTH ? shimSocketDir : null,
      optDir: join(dataDir, "containerd-opt"),
      pidFile: join(stateDir, "containerd.pid"),
      logFile: join(stateDir, "containerd.log"),
    },
    buildkitd: {
      socket: buildkitSocket,
      address: `unix://${buildkitSocket}`,
      root: join(dataDir, "buildkit"),
      configPath: join(stateDir, "buildkitd.toml"),
      otelSocket: join(buildkitState, "otel-grpc.sock"),
      pidFile: join(stateDir, "buildkitd.pid"),
      logFile: join(stateDir, "buildkitd.log"),
    },
    nerdctl: {
      tomlPath: join(stateDir, "nerdctl.toml"),
      dataRoot: join(dataDir, "nerdctl"),
      cniNetconfPath: join(dataDir, "cni", "net.d"),
      cniPath: defaultCniPath(probe, binDir),
      snapshotter: DEFAULT_SNAPSHOTTER,
    },
    startLockFile: join(stateDir, "start.lock"),
  };
}

/** Socket paths the kernel would refuse (too long for sun_path). Empty when the layout is usable. */
export function socketPathProblems(layout: EngineLayout): string[] {
  const sockets = [
    layout.containerd.socket,
    layout.containerd.ttrpcSocket,
    layout.buildkitd.socket,
    layout.buildkitd.otelSocket,
  ];
  return sockets
    .filter((path) => Buffer.byteLength(path) > MAX_UNIX_SOCKET_PATH_BYTES)
    .map(
      (path) =>
        `unix socket path is ${Buffer.byteLength(path)} bytes, over the ${MAX_UNIX_SOCKET_PATH_BYTES}-byte limit: ${path}`,
    );
}

export const realHostProbe: HostProbe = {
  env: process.env,
  isDirectory: (path) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false,
  isFile: (path) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false,
};

/** The layout on this host (reads NERDCTLD_ENGINE_HOME and probes the bin and CNI dirs). */
export function engineLayout(options: EngineLayoutOptions = {}): EngineLayout {
  return resolveEngineLayout(options, realHostProbe);
}

/**
 * The environment that points containerd clients (nerdctl, ctr, buildctl) at
 * this engine. CNI_PATH, NETCONFPATH and CONTAINERD_SNAPSHOTTER repeat what
 * nerdctl.toml says because nerdctl ranks environment over the file: a value
 * inherited from the caller's shell would otherwise win.
 */
export function engineEnvironment(layout: EngineLayout, inheritedPath: string | undefined): Record<string, string> {
  const path = [layout.binDir, inheritedPath].filter((part): part is string => Boolean(part)).join(":");
  return {
    CONTAINERD_ADDRESS: layout.containerd.socket,
    CONTAINERD_NAMESPACE: layout.namespace,
    CONTAINERD_SNAPSHOTTER: layout.nerdctl.snapshotter,
    NERDCTL_TOML: layout.nerdctl.tomlPath,
    BUILDKIT_HOST: layout.buildkitd.address,
    CNI_PATH: layout.nerdctl.cniPath,
    NETCONFPATH: layout.nerdctl.cniNetconfPath,
    PATH: path,
  };
}
