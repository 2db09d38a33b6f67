/**
 * A Docker engine for the e2e suites: the container host of the Testcontainers
 * provider. An engine that already answers is used as it is; otherwise Debian's
 * dockerd is started here with its own roots, and stopped again afterwards.
 */
import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface DockerEngine {
  /** unix://… as DOCKER_HOST takes it. */
  dockerHost: string;
  socketPath: string;
  /** True when this call started the test dockerd (stop() stops it when no other run uses it). */
  startedHere: boolean;
  stop(): Promise<void>;
}

/** Persistent, so images imported once (the engine base image) stay cached between runs. */
export const TEST_DOCKERD_DATA_ROOT = "/var/lib/nerdctld-test-dockerd";
/** Short: dockerd's containerd and the libnetwork sockets live below it. */
export const TEST_DOCKERD_RUN_DIR = "/run/nerdctld-test-dockerd";
export const TEST_DOCKERD_SOCKET = `${TEST_DOCKERD_RUN_DIR}/docker.sock`;
const EXEC_ROOT = `${TEST_DOCKERD_RUN_DIR}/exec`;
const PID_FILE = `${TEST_DOCKERD_RUN_DIR}/dockerd.pid`;
const LOG_FILE = `${TEST_DOCKERD_RUN_DIR}/dockerd.log`;
const LOCK_FILE = `${TEST_DOCKERD_RUN_DIR}/start.lock`;
const LEASE_DIR = `${TEST_DOCKERD_RUN_DIR}/leases`;
/** Where dockerd 20.10 keeps the pid of the containerd it supervises. */
const CONTAINERD_PID_FILE = `${EXEC_ROOT}/containerd/containerd.pid`;

/**
 * Debian's programs first: dockerd looks up containerd, runc, docker-proxy and
 * the shims on PATH, and must get Debian's containerd 1.6 and runc, never the
 * project's engine binaries (which may be on the caller's PATH).
 */
const DOCKERD_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;

/** The docker CLI for plumbing (import, exec): Debian's 20.10 matches the dockerd started here. */
export function dockerCli(): string {
  return ["/usr/bin/docker", "/usr/local/bin/docker"].find((path) => existsSync(path)) ?? "docker";
}

/** Environment for a docker CLI aimed at dockerHost, ignoring the caller's contexts and config. */
export function dockerCliEnv(dockerHost: string): Record<string, string> {
  return { DOCKER_HOST: dockerHost, DOCKER_CONFIG: "/tmp/nerdctld-e2e-docker-config", DOCKER_CLI_HINTS: "false" };
}

/** GET /_ping on a unix socket; true when a Docker API server answers OK. */
export function pingDocker(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(res.statusCode === 200 && body === "OK"));
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * True when a Docker engine other than a nerdctld answers GET /version there: a
 * DOCKER_HOST left pointing at a nerdctld must not become the container host.
 */
export function isDockerEngine(socketPath: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/version", timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        try {
          const version = JSON.parse(body) as { Platform?: { Name?: string }; ApiVersion?: string };
          resolve(res.statusCode === 200 && Boolean(version.ApiVersion) && !/nerdctld/.test(version.Platform?.Name ?? ""));
        } catch {
          resolve(false);
        }
      });
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Candidate sockets of an engine that is already there: DOCKER_HOST (unix only), then the default. */
function existingCandidates(): string[] {
  const candidates: string[] = [];
  const fromEnv = process.env.DOCKER_HOST;
  if (fromEnv?.startsWith("unix://")) candidates.push(fromEnv.slice("unix://".length));
  candidates.push("/var/run/docker.sock");
  return candidates;
}

/** The socket of a Docker engine that answers without starting one, or null. */
export async function reachableDockerSocket(): Promise<string | null> {
  for (const socketPath of existingCandidates()) {
    if (await isDockerEngine(socketPath)) return socketPath;
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readPid(path: string): Promise<number | null> {
  const text = await readFile(path, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

async function logTail(lines = 40): Promise<string> {
  const text = await readFile(LOG_FILE, "utf8").catch(() => "(no log)");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function engineAt(socketPath: string, startedHere: boolean, stop: () => Promise<void>): DockerEngine {
  return { dockerHost: `unix://${socketPath}`, socketPath, startedHere, stop };
}

async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0").filter(Boolean);
}

/** True when pid is the test dockerd (not a recycled pid). */
async function isTestDockerd(pid: number): Promise<boolean> {
  const argv = await commandLine(pid);
  return /dockerd$/.test(argv[0] ?? "") && argv.includes(`unix://${TEST_DOCKERD_SOCKET}`);
}

/** True when the running test dockerd was started with these arguments. */
async function runsWith(args: readonly string[]): Promise<boolean> {
  const pid = await readPid(PID_FILE);
  const argv = pid === null ? [] : await commandLine(pid);
  return argv.length === args.length + 1 && args.every((arg, index) => argv[index + 1] === arg);
}

interface Ipv4Network {
  network: number;
  mask: number;
}

function ipv4Network(cidr: string): Ipv4Network {
  const [address = "", bits = "32"] = cidr.split("/");
  const value = address.split(".").reduce((total, octet) => total * 256 + Number(octet), 0);
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return { network: (value & mask) >>> 0, mask };
}

const overlaps = (a: Ipv4Network, b: Ipv4Network) => {
  const mask = (a.mask & b.mask) >>> 0;
  return ((a.network & mask) >>> 0) === ((b.network & mask) >>> 0);
};

/** The host's IPv4 routes but the default one and docker0's (the bridge the test dockerd configures itself). */
async function hostRoutes(): Promise<Ipv4Network[]> {
  const table = await readFile("/proc/net/route", "utf8").catch(() => "");
  // Destination and Mask are hexadecimal in the host's (little-endian) byte order.
  const word = (hex: string) => Buffer.from(hex.padStart(8, "0"), "hex").readUInt32LE(0);
  return table
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter(([iface, destination, , , , , , mask]) => iface && iface !== "docker0" && destination && mask && word(mask) !== 0)
    .map(([, destination, , , , , , mask]) => ({ network: word(destination!), mask: word(mask!) }));
}

/** Docker's default bridge range first, then the next ones dockerd itself would try. */
const BRIDGE_CANDIDATES = Array.from({ length: 15 }, (_, index) => `172.${17 + index}.0.1/16`);

/**
 * The test dockerd's bridge address, pinned with --bip. Left to choose, dockerd
 * 20.10 gives its default bridge a Gateway (GET /networks' IPAM.Config) only
 * when docker0 already had an address as it started: not on a host's first
 * start, on every one after. Pinned, the reference is the same on every host:
 * Docker's usual 172.17.0.1/16, unless the host routes that elsewhere.
 */
async function bridgeAddress(): Promise<string> {
  const routes = await hostRoutes();
  const free = BRIDGE_CANDIDATES.find((cidr) => !routes.some((route) => overlaps(route, ipv4Network(cidr))));
  if (free === undefined) throw new Error(`no bridge range for the test dockerd: the host routes all of ${BRIDGE_CANDIDATES.join(", ")}`);
  return free;
}

/** How the test dockerd is started: its own roots and socket, and a pinned bridge. */
async function testDockerdArgs(): Promise<string[]> {
  return [
    "--data-root", TEST_DOCKERD_DATA_ROOT,
    "--exec-root", EXEC_ROOT,
    "--pidfile", PID_FILE,
    "-H", `unix://${TEST_DOCKERD_SOCKET}`,
    `--bip=${await bridgeAddress()}`,
  ];
}

/**
 * An exclusive lock around starting and stopping the test dockerd, so that
 * e2e runs in parallel (several engineers, one machine) neither start it twice
 * nor stop it under each other. A dead holder's lock is taken over.
 */
async function withLock<T>(action: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS + STOP_GRACE_MS * 2;
  for (;;) {
    try {
      const handle = await open(LOCK_FILE, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readPid(LOCK_FILE);
    if (holder === null || !isAlive(holder)) {
      await rm(LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`pid ${holder} holds ${LOCK_FILE} for too long`);
    await sleep(200);
  }
  try {
    return await action();
  } finally {
    await rm(LOCK_FILE, { force: true });
  }
}

let leaseCount = 0;

/**
 * Lease files name the processes using the test dockerd (pid-n); the last
 * user to leave stops it. Leases of dead processes (a run killed before its
 * teardown) do not count, so such a run's dockerd is stopped by the next one.
 */
async function liveLeases(): Promise<string[]> {
  const names = await readdir(LEASE_DIR).catch(() => [] as string[]);
  const live: string[] = [];
  for (const name of names) {
    const pid = Number.parseInt(name, 10);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) live.push(name);
    else await rm(join(LEASE_DIR, name), { force: true });
  }
  return live;
}

/** SIGTERM, SIGKILL after the grace time; then the containerd dockerd supervised, should it be left. */
async function stopTestDockerd(): Promise<void> {
  const pid = await readPid(PID_FILE);
  // Read before dockerd goes: dockerd removes the pid file when it stops containerd.
  const containerdPid = await readPid(CONTAINERD_PID_FILE);
  if (pid !== null && isAlive(pid) && (await isTestDockerd(pid))) {
    process.kill(pid, "SIGTERM");
    if (!(await waitGone(pid, STOP_GRACE_MS))) {
      console.error(`nerdctld e2e: dockerd (pid ${pid}) ignored SIGTERM for ${STOP_GRACE_MS / 1000} s; killing it`);
      process.kill(pid, "SIGKILL");
      if (!(await waitGone(pid, 5_000))) throw new Error(`dockerd (pid ${pid}) survived SIGKILL`);
    }
  }
  // dockerd stops its containerd on a clean exit; after SIGKILL it would be orphaned.
  if (containerdPid !== null && isAlive(containerdPid)) {
    process.kill(containerdPid, "SIGTERM");
    if (!(await waitGone(containerdPid, STOP_GRACE_MS))) process.kill(containerdPid, "SIGKILL");
    if (!(await waitGone(containerdPid, 5_000))) throw new Error(`dockerd's containerd (pid ${containerdPid}) is still running`);
  }
}

async function startTestDockerd(args: string[]): Promise<void> {
  const dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"].find((path) => existsSync(path));
  if (dockerd === undefined) throw new Error("no Docker engine answers and Debian's dockerd (docker.io) is not installed");
  await mkdir(TEST_DOCKERD_DATA_ROOT, { recursive: true, mode: 0o711 });
  const log = openSync(LOG_FILE, "w");
  const started = Date.now();
  const child = spawn(dockerd, args, {
    env: { ...process.env, PATH: DOCKERD_PATH, DOCKER_HOST: "" },
    stdio: ["ignore", log, log],
    // Its own process group, and not waited for: it outlives this process
    // when another run still uses it, and a Ctrl-C for vitest must not reach it.
    detached: true,
  });
  closeSync(log);
  child.unref();
  while (!(await pingDocker(TEST_DOCKERD_SOCKET))) {
    const failure =
      child.exitCode !== null || child.signalCode !== null
        ? `dockerd exited (${child.exitCode ?? child.signalCode}) while starting`
        : Date.now() - started > START_TIMEOUT_MS
          ? `dockerd did not answer /_ping within ${START_TIMEOUT_MS / 1000} s`
          : null;
    if (failure !== null) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await stopTestDockerd();
      throw new Error(`${failure}; ${LOG_FILE} ends with:\n${await logTail()}`);
    }
    await sleep(200);
  }
  console.error(`nerdctld e2e: started dockerd (pid ${child.pid}) at ${TEST_DOCKERD_SOCKET} in ${Date.now() - started} ms`);
}

/**
 * A Docker engine to run containers on: the one at DOCKER_HOST or
 * /var/run/docker.sock when it answers, otherwise Debian's dockerd on its own
 * roots, started here unless another e2e run has it running already. stop()
 * stops that dockerd (and its containerd) once no other run uses it.
 */
export async function ensureDockerd(): Promise<DockerEngine> {
  const existing = await reachableDockerSocket();
  if (existing !== null) return engineAt(existing, false, async () => {});

  await mkdir(LEASE_DIR, { recursive: true, mode: 0o711 });
  const lease = join(LEASE_DIR, `${process.pid}-${++leaseCount}`);
  const startedHere = await withLock(async () => {
    const others = await liveLeases();
    const args = await testDockerdArgs();
    let running = await pingDocker(TEST_DOCKERD_SOCKET);
    if (running && others.length > 0) console.error(`nerdctld e2e: sharing the test dockerd with ${others.join(", ")}`);
    // Running with no live user: left by a run killed before its teardown; adopted, stopped at the end.
    // Started another way (an older configuration), it is started again as the reference must be.
    if (running && others.length === 0 && !(await runsWith(args))) {
      console.error("nerdctld e2e: the test dockerd left running was started with other arguments; restarting it");
      await stopTestDockerd();
      running = false;
    }
    if (!running) await startTestDockerd(args);
    await writeFile(lease, "");
    return !running;
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await withLock(async () => {
      await rm(lease, { force: true });
      if ((await liveLeases()).length === 0) await stopTestDockerd();
    });
  };
  return engineAt(TEST_DOCKERD_SOCKET, startedHere, stop);
}
