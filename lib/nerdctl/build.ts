/**
 * `nerdctl build` (BuildKit, containerd worker: the image is in containerd's
 * store, in the namespace's, when the build ends) and `buildctl prune`: their
 * argv, their runs, and what they print that callers need.
 */
import { readdir, readFile } from "node:fs/promises";
import { badParameter, systemError } from "../errors.ts";
import type { RunningCommand } from "../runner/types.ts";
import type { Nerdctl } from "./client.ts";
import { referenceString, type ImageReference } from "../reference.ts";

/** What a build runs with, checked: every value may go into argv (as `--flag=value`). */
export interface BuildOptions {
  tags: ImageReference[];
  buildArgs: [string, string][];
  labels: [string, string][];
  target?: string;
  noCache: boolean;
  pull: boolean;
  platform?: string;
  network?: "host" | "none";
  extraHosts: string[];
}

/** nerdctl build's argv; every user value is in `--flag=value` form, the context after `--`. */
export function buildArgv(options: BuildOptions, dockerfilePath: string, contextDir: string): string[] {
  return [
    "build",
    "--progress=plain",
    `--file=${dockerfilePath}`,
    ...options.tags.map((tag) => `--tag=${referenceString(tag)}`),
    ...options.buildArgs.map(([key, value]) => `--build-arg=${key}=${value}`),
    ...options.labels.map(([key, value]) => `--label=${key}=${value}`),
    ...(options.target ? [`--target=${options.target}`] : []),
    ...(options.platform ? [`--platform=${options.platform}`] : []),
    ...(options.network ? [`--network=${options.network}`] : []),
    ...options.extraHosts.map((host) => `--add-host=${host}`),
    ...(options.noCache ? ["--no-cache"] : []),
    ...(options.pull ? ["--pull"] : []),
    "--",
    contextDir,
  ];
}

/** What one `nerdctl build` runs on: the checked options, the Dockerfile and the context directory. */
export interface BuildRun {
  options: BuildOptions;
  dockerfilePath: string;
  contextDir: string;
  /** DOCKER_CONFIG, when the client sent credentials. */
  env?: Record<string, string> | undefined;
}

/** Starts `nerdctl build`; its progress is on stderr. */
export function startBuild(nerdctl: Nerdctl, run: BuildRun): RunningCommand {
  const argv = buildArgv(run.options, run.dockerfilePath, run.contextDir);
  return nerdctl.runner.spawn({ ...nerdctl.command(argv), ...(run.env ? { env: run.env } : {}) });
}

/**
 * Kills what nerdctl started for a build and what outlived it: nerdctl runs
 * buildctl as its own child, which a kill of nerdctl alone leaves running (and
 * holding the output pipe, so the build would go on). Found by a token in its
 * argv (the build directory: a path with 64 random hex digits no other process has).
 */
export async function killStragglers(token: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return 0;
  }
  let killed = 0;
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
      .map(async (entry) => {
        try {
          const cmdline = await readFile(`/proc/${entry}/cmdline`, "latin1");
          if (!cmdline.includes(token)) return;
          process.kill(Number(entry), "SIGKILL");
          killed += 1;
        } catch {
          // gone already, or not ours to read
        }
      }),
  );
  return killed;
}

export interface PruneOptions {
  all: boolean;
  /** Bytes of cache to keep. */
  keepStorage?: number;
  /** Keep records used more recently than this (ms). */
  keepDurationMs?: number;
  /** One BuildKit filter expression (all conditions at once), or none. */
  filter?: string;
}

/** `buildctl prune` on the engine's buildkitd (BUILDKIT_HOST), one JSON record per removed cache entry. */
export function pruneArgv(options: PruneOptions): string[] {
  return [
    "prune",
    "--format={{json .}}",
    ...(options.all ? ["--all"] : []),
    ...(options.keepStorage !== undefined ? [`--keep-storage=${options.keepStorage / 1e6}`] : []),
    ...(options.keepDurationMs !== undefined ? [`--keep-duration=${Math.round(options.keepDurationMs)}ms`] : []),
    ...(options.filter !== undefined ? [`--filter=${options.filter}`] : []),
  ];
}

/** One record `buildctl prune --format '{{json .}}'` prints. */
export interface PrunedRecord {
  id: string;
  size: number;
}

/** buildctl prune's JSON lines; lines that are not records are skipped. */
export function prunedRecords(stdout: string): PrunedRecord[] {
  const records: PrunedRecord[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim()) continue;
    let record: Partial<PrunedRecord>;
    try {
      record = JSON.parse(line) as Partial<PrunedRecord>;
    } catch {
      continue;
    }
    if (typeof record.id !== "string") continue;
    records.push({ id: record.id, size: typeof record.size === "number" ? record.size : 0 });
  }
  return records;
}

/** buildctl's failure (`error: …`), for the client. */
export function buildctlMessage(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter(Boolean);
  const error = lines.findLast((line) => line.startsWith("error: "));
  return error?.slice("error: ".length) ?? lines.at(-1) ?? "buildctl failed without a message";
}

/** Prunes BuildKit's build cache: the records removed. */
export async function buildctlPrune(nerdctl: Nerdctl, options: PruneOptions, signal?: AbortSignal): Promise<PrunedRecord[]> {
  const result = await nerdctl.runner.run(nerdctl.command(pruneArgv(options), "buildctl"), signal ? { signal } : {});
  if (result.exitCode !== 0) {
    const message = buildctlMessage(result.stderr);
    if (/failed to parse prune filters/.test(message)) throw badParameter(`invalid filter: ${message}`);
    throw systemError(`failed to prune build cache: ${message}`);
  }
  return prunedRecords(result.stdout);
}
