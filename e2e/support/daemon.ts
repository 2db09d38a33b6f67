import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { removeEngineData } from "../../lib/engine/data-removal.ts";
import { engineEnvironment, engineLayout } from "../../lib/engine/layout.ts";
import { writeBusyboxImage } from "./images.ts";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");

export interface DaemonUnderTest {
  dockerHost: string;
  socketPath: string;
  engineEnv: Record<string, string>;
  nerdctl: string;
  logFile: string;
  stop(): Promise<void>;
}

/** GET /_ping over the unix socket; true once the daemon answers OK. */
export function pingSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(res.statusCode === 200 && body === "OK"));
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitForDaemon(child: ChildProcess, socketPath: string, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`nerdctld exited with ${child.exitCode} while starting:\n${await readFile(logFile, "utf8")}`);
    }
    if (await pingSocket(socketPath)) return;
    await sleep(200);
  }
  child.kill("SIGKILL");
  throw new Error(`nerdctld did not answer /_ping within ${timeoutMs} ms:\n${await readFile(logFile, "utf8")}`);
}

/**
 * What every suite finds on the engine, whichever provider runs it: the busybox
 * test image and three containers, `web` (running), `done` (exited) and
 * `fresh` (created). `nerdctl` runs nerdctl against the engine and throws when
 * it fails; imagePath is the busybox archive as the engine's side sees it.
 */
export async function seedEngine(nerdctl: (args: string[]) => Promise<unknown>, imagePath: string): Promise<void> {
  await nerdctl(["load", "--input", imagePath]);
  await nerdctl(["run", "--detach", "--name", "web", "busybox", "sleep", "3600"]);
  await nerdctl(["run", "--name", "done", "busybox", "true"]);
  await nerdctl(["create", "--name", "fresh", "busybox"]);
}

/** Compiles the daemon as it is installed (dist/), which both providers run. */
export async function buildDaemon(): Promise<void> {
  await execa("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: REPO_ROOT });
}

/**
 * Builds the daemon, starts it (compiled, as installed) on a managed engine in
 * temporary directories, and prepares the engine: the busybox test image and
 * three containers, `web` (running), `done` (exited) and `fresh` (created).
 * With `debug` (the default), its log has a line per request and engine call.
 */
export async function startDaemonUnderTest(options: { debug?: boolean } = {}): Promise<DaemonUnderTest> {
  await buildDaemon();
  // Short: unix socket paths under the state dir must stay within 107 bytes.
  const work = await mkdtemp(join(tmpdir(), "nde-"));
  const stateDir = join(work, "s");
  const dataDir = join(work, "d");
  const socketPath = join(work, "nerdctl.sock");
  const logFile = join(work, "nerdctld.log");
  const log = createWriteStream(logFile);
  await new Promise((resolve) => log.once("open", resolve));
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "dist", "bin", "nerdctld.js"),
      "--engine", "managed",
      "--engine-state-dir", stateDir,
      "--engine-data-dir", dataDir,
      "-H", `unix://${socketPath}`,
      ...(options.debug === false ? [] : ["--debug"]),
    ],
    { stdio: ["ignore", log, log] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const layout = engineLayout({ stateDir, dataDir });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      // Unref'd: a pending 60 s timer would otherwise hold the test runner open after a quick stop.
      const stopped = await Promise.race([exited.then(() => true), sleep(60_000, false, { ref: false })]);
      if (!stopped) child.kill("SIGKILL");
      await exited;
    }
    log.end();
    await removeEngineData(layout);
    await rm(work, { recursive: true, force: true });
  };

  try {
    await waitForDaemon(child, socketPath, logFile, 120_000);
    const engineEnv = engineEnvironment(layout, process.env.PATH);
    const nerdctl = layout.bin.nerdctl;
    const image = await writeBusyboxImage(join(work, "busybox.tar"));
    await seedEngine((args) => execa(nerdctl, args, { env: engineEnv, stdin: "ignore" }), image.path);
    return { dockerHost: `unix://${socketPath}`, socketPath, engineEnv, nerdctl, logFile, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
