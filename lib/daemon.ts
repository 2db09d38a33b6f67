import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { BuildkitLocator } from "./buildkit/locator.ts";
import { addressInNerdctlToml, installedEngineBin, nerdctlTomlPath, type DaemonConfig } from "./config.ts";
import type { DaemonFacts } from "./docker/system.ts";
import { startManagedEngine, type ManagedEngine } from "./engine/managed.ts";
import { DaemonMetrics } from "./instrumentation.ts";
import { IdleCollection } from "./io/heap.ts";
import { loadMallocTrim } from "./native-memory.ts";
import { Nerdctl } from "./nerdctl/client.ts";
import { nerdctlFiles, type NerdctlFiles } from "./nerdctl/files.ts";
import type { Logger } from "./log.ts";
import { DAEMON_VERSION, ROUTES_DIR } from "./package-info.ts";
import { RealRunner } from "./runner/real.ts";
import { API_VERSION } from "./server/api-version.ts";
import { createDaemonApp } from "./server/app.ts";
import { listenOn, type Listening } from "./server/listen.ts";
import { listenMetrics, type MetricsListening } from "./server/metrics-listen.ts";
import type { ServedRequest } from "./server/observe.ts";
import { loadRouteFiles } from "./server/route-files.ts";
import { EventHub } from "./service/events/hub.ts";
import { ContainerStdio } from "./service/container-stdio.ts";
import { StateHub } from "./service/state/state-hub.ts";
import { StatsSamplers } from "./service/stats-samplers.ts";
import { HealthChecks } from "./service/health.ts";
import { AbandonedLeases } from "./service/abandoned-leases.ts";
import { PushLeftovers } from "./service/push-leftovers.ts";
import { ExecRegistry } from "./service/exec-registry.ts";
import { resumeContainerWatches } from "./service/container-watches.ts";
import { scopeFor } from "./service/scope.ts";

export interface RunningDaemon {
  listeners: Listening[];
  engine?: ManagedEngine;
  runner: RealRunner;
  /** The --metrics-addr listener. */
  metrics?: MetricsListening;
  /** Stops accepting, lets requests finish within the shutdown timeout, then ends everything. */
  shutdown(): Promise<void>;
}

const DEFAULT_CONTAINERD_SOCKET = "/run/containerd/containerd.sock";

const ignoreSignal = () => {};

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** auto: use a containerd that answers; otherwise start our own. */
async function needsManagedEngine(config: DaemonConfig): Promise<boolean> {
  if (config.engine !== "auto") return config.engine === "managed";
  return !(await canConnect(config.address ?? DEFAULT_CONTAINERD_SOCKET));
}

/** A nerdctl.toml's text; none when there is no such file (nerdctl's defaults then). */
function nerdctlToml(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Where the nerdctl nerdctld runs keeps volumes and networks: its environment, then the nerdctl.toml it reads. */
function nerdctlFilesIn(engineEnv: Record<string, string>): NerdctlFiles | undefined {
  const env = { ...process.env, ...engineEnv };
  return nerdctlFiles(env, nerdctlToml(nerdctlTomlPath({ nerdctlToml: env.NERDCTL_TOML }, env)), process.getuid?.() === 0);
}

/**
 * `docker run --init` runs a tini the engine mounts into the container: it
 * must be a static one (a dynamic one cannot start in busybox or distroless
 * images), which Debian ships as tini-static and Docker as docker-init.
 */
function staticInit(path: string): string | undefined {
  for (const name of ["docker-init", "tini-static"]) {
    const found = path.split(":").map((dir) => join(dir, name)).find((file) => existsSync(file));
    if (found) return found;
  }
  return undefined;
}

function engineEnv(config: DaemonConfig, engine: ManagedEngine | undefined): Record<string, string> {
  const env: Record<string, string> = { ...engine?.env };
  // Flags and environment given to nerdctld beat the managed engine's defaults.
  // ctr reads only CONTAINERD_ADDRESS: give it the address nerdctl uses, from nerdctl.toml when nothing else names one.
  const address = config.address ?? addressInNerdctlToml(nerdctlToml(nerdctlTomlPath(config)));
  if (!engine && address) env.CONTAINERD_ADDRESS = address;
  // nerdctl runs buildctl and runc itself (for builds and `version`): the installed engine's come first.
  const engineBin = installedEngineBin();
  if (!engine && engineBin) env.PATH = [engineBin, process.env.PATH].filter(Boolean).join(":");
  if (config.snapshotter) env.CONTAINERD_SNAPSHOTTER = config.snapshotter;
  if (config.nerdctlToml) env.NERDCTL_TOML = config.nerdctlToml;
  return env;
}

export async function startDaemon(config: DaemonConfig, log: Logger): Promise<RunningDaemon> {
  const debugLog = config.debug ? log.debug : undefined;
  let engine: ManagedEngine | undefined;
  if (await needsManagedEngine(config)) {
    log("starting the managed engine (containerd, buildkitd)");
    engine = await startManagedEngine({
      stateDir: config.engineStateDir,
      dataDir: config.engineDataDir,
      namespace: config.namespace,
      // A containerd or buildkitd that dies is started again, as dockerd restarts its managed containerd.
      supervise: { log },
    });
    log(`managed engine: containerd ${engine.layout.containerd.socket}, buildkitd ${engine.layout.buildkitd.address}`);
  }

  const env = engineEnv(config, engine);
  const runner = new RealRunner({
    binaries: { nerdctl: config.nerdctl, buildctl: config.buildctl },
    env,
  });
  const metrics = new DaemonMetrics({ children: () => runner.liveChildren });
  const nerdctl = new Nerdctl(metrics.engineRunner(runner, { maxChildren: config.maxChildren, debugLog, crashLog: log.error }), {
    namespace: config.namespace,
    initBinary: staticInit(env.PATH ?? process.env.PATH ?? ""),
  });
  // The daemon's namespace's engine events run as long as the daemon, listened to or not (dockerd buffers for `since` too).
  const events = new EventHub(nerdctl, { defaultNamespace: config.namespace ?? "default", log: debugLog, restarting: metrics.eventSourceRestart });
  events.start();
  const facts = (): DaemonFacts => ({
    version: DAEMON_VERSION,
    gitCommit: "",
    apiVersion: API_VERSION.max,
    minApiVersion: API_VERSION.min,
    debug: config.debug,
    rootDir: engine?.layout.nerdctl.dataRoot ?? "/var/lib/nerdctl",
    eventListeners: events.listeners,
    env: process.env,
  });

  const state = new StateHub(nerdctl, events, config.namespace ?? "default", { files: nerdctlFilesIn(env), log });
  // The buildkitd nerdctl builds with: the managed engine's, or BUILDKIT_HOST, or nerdctl's usual sockets.
  const buildkit = new BuildkitLocator({
    buildkitHost: env.BUILDKIT_HOST ?? process.env.BUILDKIT_HOST,
    runDir: process.getuid?.() === 0 ? "/run" : (process.env.XDG_RUNTIME_DIR ?? "/run"),
  });
  const leases = new AbandonedLeases({ log });
  const idleCollection = new IdleCollection({ release: loadMallocTrim(log) });
  const observe = metrics.requestObserver(log, config.debug);
  const answered = (request: ServedRequest) => {
    observe(request);
    idleCollection.activity();
  };
  const services = {
    nerdctl,
    facts,
    events,
    state,
    samplers: new StatsSamplers(),
    execs: new ExecRegistry(),
    stdio: new ContainerStdio(),
    health: new HealthChecks(),
    buildkit,
    leases,
    pushes: new PushLeftovers({ log }),
  };
  const app = createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services,
    daemonVersion: DAEMON_VERSION,
    observe: answered,
    readOnly: config.readOnlyApi,
  });
  // --rm containers that ended while no daemon was watching, health checks of running ones.
  resumeContainerWatches(scopeFor(services, undefined)).catch((error: unknown) => log(`resuming container watches: ${(error as Error).message}`));

  const listeners: Listening[] = [];
  let metricsListening: MetricsListening | undefined;
  try {
    for (const host of config.hosts) {
      listeners.push(
        await listenOn(host, app, { group: config.group, tls: config.tls, allowInsecureTcp: config.allowInsecureTcp }),
      );
    }
    if (config.metricsAddr) metricsListening = await listenMetrics(config.metricsAddr, () => metrics.registry.render());
  } catch (error) {
    events.close();
    await Promise.all(listeners.map((listener) => listener.stopAccepting()));
    await engine?.stop();
    throw error;
  }

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      // A second SIGTERM/SIGINT must not end the shutdown half way: with a child running (an events
      // stream's), execa's signal-exit re-raises a signal nobody else listens to, and the daemon would die.
      process.on("SIGTERM", ignoreSignal).on("SIGINT", ignoreSignal);
      // Event streams never end by themselves: end them, as dockerd does, so they do not hold the drain.
      events.close();
      leases.close();
      idleCollection.close();
      const drained = Promise.all(listeners.map((listener) => listener.stopAccepting()));
      const deadline = new Promise<"timeout">((resolve) => setTimeout(resolve, config.shutdownTimeout * 1000, "timeout").unref());
      if ((await Promise.race([drained, deadline])) === "timeout") {
        log(`requests still running after ${config.shutdownTimeout}s; closing them`);
      }
      for (const listener of listeners) listener.destroyConnections();
      runner.killAll();
      await metricsListening?.close();
      await engine?.stop();
    })();
    return shuttingDown;
  };
  return { listeners, engine, runner, metrics: metricsListening, shutdown };
}
