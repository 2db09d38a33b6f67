import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { startDaemonUnderTest } from "../e2e/support/daemon.ts";
import { dockerCli, dockerCliEnv, ensureDockerd } from "../e2e/support/dockerd.ts";
import { writeBusyboxImage, type WrittenImage } from "../e2e/support/images.ts";
import { findSocketListenerPid, type PeakMode } from "./rss.ts";

/** A daemon under measurement: where to reach it and which process to watch. */
export interface BenchDaemon {
  dockerHost: string;
  socketPath: string;
  pid: number;
  /** "reset" where the benchmark owns the process (its VmHWM may be reset), "sample" otherwise. */
  peakMode: PeakMode;
  stop(): Promise<void>;
}

export interface NerdctldUnderBench extends BenchDaemon {
  /** Plain nerdctl on the same engine, for the nerdctl columns. */
  nerdctl: { path: string; env: Record<string, string> };
  /** The daemon's log: with --debug, a line per request and per nerdctl call, with its duration. */
  logFile: string;
  debug: boolean;
}

function daemonPid(socketPath: string, what: string): number {
  const pid = findSocketListenerPid(socketPath);
  if (pid === null) throw new Error(`no process listens on ${socketPath} (${what})`);
  return pid;
}

/**
 * nerdctld on a managed engine, as the e2e suites run it (compiled, temp dirs,
 * busybox loaded, containers web running, done exited, fresh created).
 */
export async function startNerdctld(debug: boolean): Promise<NerdctldUnderBench> {
  const daemon = await startDaemonUnderTest({ debug });
  try {
    return {
      dockerHost: daemon.dockerHost,
      socketPath: daemon.socketPath,
      pid: daemonPid(daemon.socketPath, "nerdctld"),
      peakMode: "reset",
      nerdctl: { path: daemon.nerdctl, env: { ...(process.env as Record<string, string>), ...daemon.engineEnv } },
      logFile: daemon.logFile,
      debug,
      stop: () => daemon.stop(),
    };
  } catch (error) {
    await daemon.stop();
    throw error;
  }
}

/**
 * The dockerd of the project's e2e support (an engine that already answers, or
 * Debian's dockerd started with its own roots), given the same busybox image
 * and the same three containers as nerdctld's engine. Its data root may be
 * shared with the e2e suites, so the containers get names of their own and are
 * removed again, and the busybox image too when it was not there before.
 */
export async function startDockerd(log: (line: string) => void): Promise<BenchDaemon> {
  const engine = await ensureDockerd();
  const cli = dockerCli();
  const env = dockerCliEnv(engine.dockerHost);
  const docker = (...args: string[]) => execa(cli, args, { env, reject: false, timeout: 120_000 });
  const names = ["nerdctld-bench-web", "nerdctld-bench-done", "nerdctld-bench-fresh"];
  let busybox: WrittenImage | undefined;
  let loadedBusybox = false;

  const cleanUp = async () => {
    await docker("rm", "--force", ...names);
    if (loadedBusybox && busybox) await docker("rmi", busybox.repoTag);
  };
  const stop = async () => {
    await cleanUp();
    if (engine.startedHere) await engine.stop();
  };

  try {
    // Leftovers of an interrupted run carry these names.
    await docker("rm", "--force", ...names);
    const work = await mkdtemp(join(tmpdir(), "ndb-"));
    try {
      // Byte-for-byte the archive startDaemonUnderTest loads into nerdctld's engine: same image id.
      busybox = await writeBusyboxImage(join(work, "busybox.tar"));
      loadedBusybox = (await docker("image", "inspect", busybox.repoTag)).exitCode !== 0;
      const loaded = await docker("load", "--input", busybox.path);
      if (loaded.exitCode !== 0) throw new Error(`docker load on dockerd: ${loaded.stderr}`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    for (const args of [
      ["run", "--detach", "--name", names[0]!, busybox.repoTag, "sleep", "3600"],
      ["run", "--name", names[1]!, busybox.repoTag, "true"],
      ["create", "--name", names[2]!, busybox.repoTag],
    ]) {
      const result = await docker(...args);
      if (result.exitCode !== 0) throw new Error(`docker ${args.join(" ")} on dockerd: ${result.stderr}`);
    }
    log(`dockerd at ${engine.socketPath} (${engine.startedHere ? "started here" : "already running"}), seeded`);
    return {
      dockerHost: engine.dockerHost,
      socketPath: engine.socketPath,
      pid: daemonPid(engine.socketPath, "dockerd"),
      peakMode: engine.startedHere ? "reset" : "sample",
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The docker CLI the transfers run on both daemons (Debian's 20.10 speaks dockerd 20.10's API natively). */
export const benchDockerCli = dockerCli;
