/**
 * A second nerdctld on the engine under test (`--engine external`), where the
 * provider runs its daemon: on this host, or in the testcontainers provider's
 * engine container with its socket in the directory the host shares. Suites
 * that need flags of their own, or a daemon they may stop, start one.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { pingSocket, REPO_ROOT } from "./daemon.ts";
import { dockerCliEnv } from "./dockerd.ts";
import type { EngineAccess } from "./engine-client.ts";

const DAEMON = join(REPO_ROOT, "dist", "bin", "nerdctld.js");

export interface SecondDaemon {
  dockerHost: string;
  /** Its socket, as this host reaches it. */
  socketPath: string;
  /** Its process id where it runs (this host, or the engine container). */
  pid: number;
  /** Its log so far. */
  text(): Promise<string>;
  /** Its log's JSON records (with --log-format json). */
  log(): Promise<Record<string, unknown>[]>;
  /** GET of a URL as seen where the daemon runs (its metrics listener). */
  fetchText(url: string): Promise<string>;
  /** SIGTERM, and waits for it to end; removes what it was given. Idempotent. */
  stop(): Promise<void>;
}

const records = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** Starts a nerdctld with these flags (`-H` is added) next to the engine; `label` names its files. */
export function startSecondDaemon(access: EngineAccess, label: string, flags: string[]): Promise<SecondDaemon> {
  return access.kind === "host" ? startOnHost(access, flags) : startInContainer(access, label, flags);
}

/** Runs a Node script where the engine runs (this host, or its container): its stdout. */
export async function runNodeByEngine(access: EngineAccess, script: string, args: string[] = []): Promise<string> {
  const result =
    access.kind === "host"
      ? await execa(process.execPath, ["-e", script, ...args], { stdin: "ignore" })
      : await execa(access.docker, ["exec", access.containerId, "/usr/bin/node", "-e", script, ...args], { env: dockerCliEnv(access.dockerHost), stdin: "ignore" });
  return String(result.stdout);
}

async function startOnHost(access: Extract<EngineAccess, { kind: "host" }>, flags: string[]): Promise<SecondDaemon> {
  const work = await mkdtemp(join(tmpdir(), "ndl-"));
  const socketPath = join(work, "d.sock");
  const logFile = join(work, "d.log");
  const fd = openSync(logFile, "w");
  const child = spawn(process.execPath, [DAEMON, ...flags, "-H", `unix://${socketPath}`], {
    env: { ...process.env, ...access.env },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const text = () => readFile(logFile, "utf8").catch(() => "");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await rm(work, { recursive: true, force: true });
  };
  return whenListening({ socketPath, pid: child.pid!, text, stop, fetchText: async (url) => (await fetch(url)).text() });
}

async function startInContainer(access: Extract<EngineAccess, { kind: "container" }>, label: string, flags: string[]): Promise<SecondDaemon> {
  const env = dockerCliEnv(access.dockerHost);
  const dockerCmd = (args: string[]) => execa(access.docker, args, { env, stdin: "ignore" });
  const mounts = JSON.parse((await dockerCmd(["inspect", "--format", "{{json .Mounts}}", access.containerId])).stdout) as { Source: string; Destination: string }[];
  const shared = mounts.find((mount) => mount.Destination === "/run/nerdctl");
  if (!shared) throw new Error("the engine container shares no /run/nerdctl with the host");
  const inside = `/run/nerdctl/${label}`;
  const envFlags = Object.entries(access.env).flatMap(([key, value]) => ["--env", `${key}=${value}`]);
  const script = `mkdir -p ${inside} && echo $$ > ${inside}.pid && exec /usr/bin/node "$@" 2>${inside}.log`;
  await dockerCmd(["exec", "--detach", ...envFlags, access.containerId, "/bin/sh", "-c", script, "sh", DAEMON, ...flags, "-H", `unix://${inside}/d.sock`]);
  const socketPath = join(shared.Source, label, "d.sock");
  const text = () => readFile(join(shared.Source, `${label}.log`), "utf8").catch(() => "");
  // Written before the exec: there once the directory is.
  let pid = Number.NaN;
  for (let attempt = 0; attempt < 100 && Number.isNaN(pid); attempt++) {
    pid = Number.parseInt(await readFile(join(shared.Source, `${label}.pid`), "utf8").catch(() => ""), 10);
    if (Number.isNaN(pid)) await sleep(100);
  }
  const stop = async () => {
    await dockerCmd(["exec", access.containerId, "/bin/sh", "-c", `kill $(cat ${inside}.pid) 2>/dev/null; while kill -0 $(cat ${inside}.pid) 2>/dev/null; do sleep 0.2; done; rm -rf ${inside} ${inside}.pid ${inside}.log`]);
  };
  return whenListening({
    socketPath,
    pid,
    text,
    stop,
    fetchText: async (url) =>
      (await dockerCmd(["exec", access.containerId, "/usr/bin/node", "-e", "fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))", url])).stdout,
  });
}

/** The second daemon once its socket answers; stopped when it never does. */
async function whenListening(started: Omit<SecondDaemon, "dockerHost" | "log">): Promise<SecondDaemon> {
  const deadline = Date.now() + 60_000;
  try {
    if (Number.isNaN(started.pid)) throw new Error("the second nerdctld wrote no pid file");
    while (!(await pingSocket(started.socketPath))) {
      if (Date.now() > deadline) throw new Error(`the second nerdctld did not answer on ${started.socketPath}:\n${await started.text()}`);
      await sleep(200);
    }
  } catch (error) {
    await started.stop();
    throw error;
  }
  return { ...started, dockerHost: `unix://${started.socketPath}`, log: async () => records(await started.text()) };
}
