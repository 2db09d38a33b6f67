/**
 * A nerdctld of a suite's own, beside the daemon under test: on this host for
 * the host provider, inside the engine container (in the directory it shares
 * with the host) for the testcontainers provider. Its directory holds its
 * socket, log, pid file and whatever the suite puts there (a TMPDIR, a managed
 * engine's state and data); it goes when the daemon is stopped.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { removeEngineData } from "../../lib/engine/data-removal.ts";
import { engineLayout } from "../../lib/engine/layout.ts";
import { pingSocket, REPO_ROOT } from "./daemon.ts";
import { dockerCliEnv } from "./dockerd.ts";
import { runEngineShell, type EngineAccess, type NerdctlResult } from "./engine-client.ts";

const DAEMON = join(REPO_ROOT, "dist", "bin", "nerdctld.js");
const READY_MS = 120_000;

export interface ExtraDaemon {
  /** The daemon's socket, as this process reaches it. */
  socketPath: string;
  dockerHost: string;
  /** The daemon's directory where the daemon runs, and where this process reads it. */
  dir: { engine: string; host: string };
  /** The daemon's pid where it runs. */
  pid: number;
  /** A shell script where the daemon runs (never throws on a non-zero exit). */
  shell(script: string): Promise<NerdctlResult>;
  log(): Promise<string>;
  /** SIGTERM, waits for the exit, removes the directory (and a managed engine's data in it). */
  stop(): Promise<void>;
}

export interface ExtraDaemonOptions {
  /** A short name: the directory's, in the engine container. */
  name: string;
  /** Flags beyond -H; `{dir}` in a flag is the daemon's directory where it runs. */
  flags: string[];
  /** Environment beyond the engine's (external engines) or the process's; `{dir}` as in flags. */
  env?: Record<string, string>;
  /** Its managed engine's --engine-state-dir and --engine-data-dir, below its directory, to remove after. */
  managedEngine?: boolean;
}

const filled = (text: string, dir: string) => text.replaceAll("{dir}", dir);

export async function startExtraDaemon(access: EngineAccess, options: ExtraDaemonOptions): Promise<ExtraDaemon> {
  const started = access.kind === "host" ? await startOnHost(access, options) : await startInContainer(access, options);
  const deadline = Date.now() + READY_MS;
  while (!(await pingSocket(started.socketPath))) {
    if (Date.now() > deadline) {
      const log = await started.log();
      await started.stop();
      throw new Error(`nerdctld ${options.name} did not answer on ${started.socketPath}:\n${log.split("\n").slice(-40).join("\n")}`);
    }
    await sleep(200);
  }
  return started;
}

function flagsOf(options: ExtraDaemonOptions, dir: string): string[] {
  const engine = options.managedEngine ? ["--engine", "managed", "--engine-state-dir", `${dir}/s`, "--engine-data-dir", `${dir}/d`] : [];
  return [...engine, ...options.flags.map((flag) => filled(flag, dir)), "-H", `unix://${dir}/d.sock`];
}

async function startOnHost(access: Extract<EngineAccess, { kind: "host" }>, options: ExtraDaemonOptions): Promise<ExtraDaemon> {
  // Short: the managed engine's socket paths stay under 108 bytes.
  const dir = await mkdtemp("/tmp/ndx-");
  await mkdir(join(dir, "tmp"));
  const logFile = join(dir, "d.log");
  const fd = openSync(logFile, "w");
  const env = Object.fromEntries(Object.entries(options.env ?? {}).map(([key, value]) => [key, filled(value, dir)]));
  const child = spawn(process.execPath, [DAEMON, ...flagsOf(options, dir)], {
    env: { ...process.env, ...(options.managedEngine ? {} : access.env), ...env },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const ended = await Promise.race([exited.then(() => true), sleep(90_000, false, { ref: false })]);
    if (!ended) child.kill("SIGKILL");
    await exited;
    if (options.managedEngine) await removeEngineData(engineLayout({ stateDir: join(dir, "s"), dataDir: join(dir, "d") }));
    await rm(dir, { recursive: true, force: true });
  };
  return {
    socketPath: join(dir, "d.sock"),
    dockerHost: `unix://${join(dir, "d.sock")}`,
    dir: { engine: dir, host: dir },
    pid: child.pid!,
    shell: (script) => runEngineShell(access, script),
    log: () => readFile(logFile, "utf8").catch(() => ""),
    stop,
  };
}

async function startInContainer(access: Extract<EngineAccess, { kind: "container" }>, options: ExtraDaemonOptions): Promise<ExtraDaemon> {
  const dockerEnv = dockerCliEnv(access.dockerHost);
  const dockerCmd = (args: string[]) => execa(access.docker, args, { env: dockerEnv, stdin: "ignore" });
  const mounts = JSON.parse((await dockerCmd(["inspect", "--format", "{{json .Mounts}}", access.containerId])).stdout) as { Source: string; Destination: string }[];
  const shared = mounts.find((mount) => mount.Destination === "/run/nerdctl");
  if (!shared) throw new Error("the engine container shares no /run/nerdctl with the host");
  const dir = `/run/nerdctl/${options.name}`;
  const hostDir = join(shared.Source, options.name);
  const env = { ...(options.managedEngine ? {} : access.env), ...options.env };
  const envFlags = Object.entries(env).flatMap(([key, value]) => ["--env", `${key}=${filled(value, dir)}`]);
  const script = `rm -rf ${dir} && mkdir -p ${dir}/tmp && echo $$ > ${dir}/pid && exec /usr/bin/node "$@" >${dir}/d.log 2>&1`;
  await dockerCmd(["exec", "--detach", ...envFlags, access.containerId, "/bin/sh", "-c", script, "sh", DAEMON, ...flagsOf(options, dir)]);
  let pid = 0;
  for (let attempt = 0; attempt < 100 && !pid; attempt++) {
    pid = Number((await readFile(join(hostDir, "pid"), "utf8").catch(() => "")).trim());
    if (!pid) await sleep(100);
  }
  const shell = (script: string) => runEngineShell(access, script);
  const stop = async () => {
    await shell(`kill ${pid}; for i in $(seq 1 450); do kill -0 ${pid} 2>/dev/null || break; sleep 0.2; done; kill -9 ${pid} 2>/dev/null; true`);
    // Whatever the engine left mounted below its directory goes first (deepest first), as removeEngineData does.
    await shell(`awk '$5 ~ "^${dir}/" {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l; rm -rf --one-file-system ${dir}`);
  };
  return {
    socketPath: join(hostDir, "d.sock"),
    dockerHost: `unix://${join(hostDir, "d.sock")}`,
    dir: { engine: dir, host: hostDir },
    pid,
    shell,
    log: () => readFile(join(hostDir, "d.log"), "utf8").catch(() => ""),
    stop,
  };
}
