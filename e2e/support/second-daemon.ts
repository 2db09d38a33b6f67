/**
 * Another nerdctld on the engine under test, with flags of a suite's own:
 * on the host next to the host provider's engine, or inside the
 * testcontainers provider's engine container with its socket in the
 * directory that container shares with the host.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { dockerCliEnv } from "./dockerd.ts";
import type { EngineAccess } from "./engine-client.ts";
import { pingSocket, REPO_ROOT } from "./daemon.ts";

const DAEMON = join(REPO_ROOT, "dist", "bin", "nerdctld.js");

export interface SecondDaemon {
  dockerHost: string;
  socketPath: string;
  /** All the daemon has written to its log. */
  logText(): Promise<string>;
  /** GET of a URL as seen where the daemon runs (its metrics listener). */
  fetchText(url: string): Promise<string>;
  /** SIGTERM, then waits for the process to end; its directory is kept for a start again. */
  stop(): Promise<void>;
  /** Stops it and removes what it left. */
  remove(): Promise<void>;
}

/** Starts `name` with `flags` (plus its -H) once its socket answers. */
export async function startSecondDaemon(engine: EngineAccess, name: string, flags: string[]): Promise<SecondDaemon> {
  return engine.kind === "host" ? startOnHost(engine, flags) : startInContainer(engine, name, flags);
}

async function waitForSocket(socketPath: string, log: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await pingSocket(socketPath))) {
    if (Date.now() > deadline) throw new Error(`the second nerdctld did not answer on ${socketPath}:\n${await log()}`);
    await sleep(200);
  }
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
  const logText = () => readFile(logFile, "utf8").catch(() => "");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const remove = async () => {
    await stop();
    await rm(work, { recursive: true, force: true });
  };
  return whenListening({ dockerHost: `unix://${socketPath}`, socketPath, logText, stop, remove, fetchText: async (url) => (await fetch(url)).text() });
}

async function startInContainer(access: Extract<EngineAccess, { kind: "container" }>, name: string, flags: string[]): Promise<SecondDaemon> {
  const env = dockerCliEnv(access.dockerHost);
  const dockerCmd = (args: string[]) => execa(access.docker, args, { env, stdin: "ignore" });
  const mounts = JSON.parse((await dockerCmd(["inspect", "--format", "{{json .Mounts}}", access.containerId])).stdout) as { Source: string; Destination: string }[];
  const shared = mounts.find((mount) => mount.Destination === "/run/nerdctl");
  if (!shared) throw new Error("the engine container shares no /run/nerdctl with the host");
  const inside = `/run/nerdctl/${name}`;
  const envFlags = Object.entries(access.env).flatMap(([key, value]) => ["--env", `${key}=${value}`]);
  const script = `mkdir -p ${inside} && echo $$ > ${inside}.pid && exec /usr/bin/node "$@" 2>>${inside}.log`;
  await dockerCmd(["exec", "--detach", ...envFlags, access.containerId, "/bin/sh", "-c", script, "sh", DAEMON, ...flags, "-H", `unix://${inside}/d.sock`]);
  const stop = async () => {
    await dockerCmd(["exec", access.containerId, "/bin/sh", "-c", `kill $(cat ${inside}.pid); while kill -0 $(cat ${inside}.pid) 2>/dev/null; do sleep 0.2; done`]);
  };
  return whenListening({
    dockerHost: `unix://${join(shared.Source, name, "d.sock")}`,
    socketPath: join(shared.Source, name, "d.sock"),
    logText: () => readFile(join(shared.Source, `${name}.log`), "utf8").catch(() => ""),
    stop,
    remove: async () => {
      await stop();
      await dockerCmd(["exec", access.containerId, "/bin/sh", "-c", `rm -rf ${inside} ${inside}.pid ${inside}.log`]);
    },
    fetchText: async (url) =>
      (await dockerCmd(["exec", access.containerId, "/usr/bin/node", "-e", "fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))", url])).stdout,
  });
}

/** The daemon once its socket answers; removed when it never does. */
async function whenListening(daemon: SecondDaemon): Promise<SecondDaemon> {
  try {
    await waitForSocket(daemon.socketPath, daemon.logText);
  } catch (error) {
    await daemon.remove();
    throw error;
  }
  return daemon;
}
