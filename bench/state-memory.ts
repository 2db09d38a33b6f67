/**
 * What nerdctld's state adds to its RSS, with nothing else different: two
 * fresh nerdctlds on nerdctld's engine, one in an empty namespace and one in
 * the grown one, each read until its state holds its namespace, then left
 * idle. The long-lived daemon's before/after difference (reads.ts) also holds
 * what the growth tables' timed load left in V8's heap and malloc's free
 * lists; these two differ only in the state.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO_ROOT } from "../e2e/support/daemon.ts";
import { listing } from "./http.ts";
import { quietRssKiB, readMemory } from "./rss.ts";

/** Idle time the reading spans, and how often it samples: as the disconnects suite reads a settled RSS. */
const IDLE_MS = 30_000;
const SAMPLE_MS = 2_000;
/** The namespace the empty daemon serves: nothing is ever made in it. */
export const EMPTY_NAMESPACE = "nerdctld-bench-empty";

export interface FreshDaemonMemory {
  namespace: string;
  held: { containers: number; images: number };
  /** Seconds from its start until its listings held the namespace. */
  heldAfterSeconds: number;
  /** VmRSS, KiB: the median of ten samples over 2 s after 3 s without requests (as the long-lived daemon's is read). */
  quietKiB: number;
  /** VmRSS, KiB: the lowest of readings every 2 s over 30 s without requests. */
  idleKiB: number;
}

interface Engine {
  /** plain nerdctl's environment on nerdctl's engine: its sockets and config. */
  env: NodeJS.ProcessEnv;
}

/**
 * Starts a nerdctld (compiled, as installed; `--engine external`) in
 * `namespace`, reads its container and image listings until they hold
 * `expected`, reads its RSS idle, and stops it.
 */
export async function freshDaemonMemory(
  engine: Engine,
  namespace: string,
  expected: { containers: number; images: number },
  timeoutMs: number,
): Promise<FreshDaemonMemory> {
  const dir = await mkdtemp(join(tmpdir(), "ndm-"));
  const socketPath = join(dir, "d.sock");
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "dist", "bin", "nerdctld.js"), "--engine", "external", "--namespace", namespace, "-H", `unix://${socketPath}`],
    { env: { ...engine.env, TMPDIR: dir }, stdio: "ignore" },
  );
  const exited = once(child, "exit");
  try {
    const start = performance.now();
    const held = { containers: -1, images: -1 };
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nerdctld in ${namespace} exited with ${child.exitCode}`);
      if (performance.now() - start > timeoutMs) {
        throw new Error(`nerdctld in ${namespace}: after ${(timeoutMs / 1000).toFixed(0)} s it listed ${held.containers} containers and ${held.images} images`);
      }
      try {
        // The first read of a thousand containers new to the state takes minutes here: the whole budget is its.
        const left = () => Math.max(1_000, timeoutMs - (performance.now() - start));
        held.containers = (await listing(socketPath, "/v1.41/containers/json?all=1", left())).count;
        held.images = (await listing(socketPath, "/v1.41/images/json", left())).count;
        if (held.containers >= expected.containers && held.images >= expected.images) break;
      } catch (error) {
        if (!/ENOENT|ECONNREFUSED/.test((error as Error).message)) throw error;
      }
      await sleep(500);
    }
    const heldAfterSeconds = (performance.now() - start) / 1000;
    const [quietKiB] = await quietRssKiB([child.pid!]);
    let idleKiB = Number.POSITIVE_INFINITY;
    for (let waited = 0; waited < IDLE_MS; waited += SAMPLE_MS) {
      await sleep(SAMPLE_MS);
      idleKiB = Math.min(idleKiB, readMemory(child.pid!)?.rssKiB ?? Number.POSITIVE_INFINITY);
    }
    return { namespace, held, heldAfterSeconds, quietKiB: quietKiB ?? Number.NaN, idleKiB };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}
