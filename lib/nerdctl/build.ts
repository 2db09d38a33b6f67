/**
 * Builds with `nerdctl build` (BuildKit, containerd worker: the image is in
 * containerd's store, in the request's namespace, when the build ends) on a
 * context already received into a temporary directory, and prunes BuildKit's
 * cache with `buildctl prune`. The build's output is streamed as it comes;
 * the child is killed when the client goes away, and the temporary directory
 * is removed once the child has exited, whichever way it ends.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BuildFailure,
  buildPruneReport,
  buildStreamMessage,
  buildSucceededMessages,
  buildctlMessage,
  exportedConfig,
  isNerdctlLogLine,
  type BuildCachePruneReport,
  type BuildPruneRequest,
  type BuildRequest,
} from "../docker/build.ts";
import { ApiError, badParameter } from "../errors.ts";
import { errorMessage, type JSONMessage } from "../docker/progress.ts";
import type { RunningCommand } from "../runner/types.ts";
import type { BuildDirectory } from "../server/build-context.ts";
import { readLines } from "../io/lines.ts";
import { whenClientGone } from "../io/signals.ts";
import type { Nerdctl } from "./client.ts";
import { referenceString } from "../reference.ts";

/**
 * Kills what nerdctl started for this build and what outlived it: nerdctl runs
 * buildctl as its own child, which a kill of nerdctl alone leaves running (and
 * holding the output pipe, so the build would go on). Found by the build
 * directory in its argv, a path with 64 random hex digits no other process has.
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

/** Lines of output a quiet build keeps, to show them if it fails (dockerd shows everything then). */
const QUIET_TAIL_LINES = 2000;

/** nerdctl build's argv for a checked request; every user value is in `--flag=value` form, the context after `--`. */
export function buildArgv(request: BuildRequest, dockerfilePath: string, contextDir: string): string[] {
  return [
    "build",
    "--progress=plain",
    `--file=${dockerfilePath}`,
    ...request.tags.map((tag) => `--tag=${referenceString(tag)}`),
    ...request.buildArgs.map(([key, value]) => `--build-arg=${key}=${value}`),
    ...request.labels.map(([key, value]) => `--label=${key}=${value}`),
    ...(request.target ? [`--target=${request.target}`] : []),
    ...(request.platform ? [`--platform=${request.platform}`] : []),
    ...(request.network ? [`--network=${request.network}`] : []),
    ...request.extraHosts.map((host) => `--add-host=${host}`),
    ...(request.noCache ? ["--no-cache"] : []),
    ...(request.pull ? ["--pull"] : []),
    "--",
    contextDir,
  ];
}

export interface BuildStream {
  messages: AsyncIterable<JSONMessage>;
  /** Ends the build early (the client stopped reading). */
  kill(): void;
}

export interface BuildOptions {
  request: BuildRequest;
  /** Where the context was received; removed once the build is over. */
  dir: BuildDirectory;
  /** The Dockerfile, inside dir.context. */
  dockerfilePath: string;
  /** A docker config.json with the client's registry credentials (X-Registry-Config). */
  dockerConfig?: string;
}

/**
 * Starts `nerdctl build`. The messages are BuildKit's plain progress, one
 * `{"stream"}` per line, then dockerd's `aux` ID and `Successfully built/tagged`
 * lines, or the error that made the build fail.
 */
export async function buildImage(nerdctl: Nerdctl, options: BuildOptions, signal: AbortSignal): Promise<BuildStream> {
  const { request, dir } = options;
  let env: Record<string, string> | undefined;
  let child: RunningCommand;
  try {
    if (options.dockerConfig !== undefined) {
      const configDir = join(dir.root, "docker-config");
      await mkdir(configDir, { mode: 0o700 });
      await writeFile(join(configDir, "config.json"), options.dockerConfig, { mode: 0o600 });
      env = { DOCKER_CONFIG: configDir };
    }
    if (signal.aborted) throw new Error("the client went away before the build started");
    child = nerdctl.runner.spawn({ ...nerdctl.command(buildArgv(request, options.dockerfilePath, dir.context)), ...(env ? { env } : {}) });
  } catch (error) {
    await dir.remove();
    throw error;
  }
  let exited = false;
  const kill = () => {
    if (exited) return;
    child.kill();
    // Twice: a buildctl nerdctl was starting just then is found the second time.
    void killStragglers(dir.root).then(() => setTimeout(() => void killStragglers(dir.root), 200).unref());
  };
  const stopListening = whenClientGone(signal, kill);
  const done = child.exited.finally(() => {
    exited = true;
    stopListening();
  });
  // The context goes once nothing reads it any more, however the build ended.
  void done.finally(() => dir.remove()).catch(() => {});
  child.stdin.end();
  // nerdctl's stdout only says what it loaded (`Loaded image: …`) when it had to load the result itself.
  child.stdout.resume();

  async function* messages(): AsyncGenerator<JSONMessage> {
    const failure = new BuildFailure();
    const quietTail: string[] = [];
    let id: string | undefined;
    try {
      for await (const line of readLines(child.stderr)) {
        failure.line(line);
        id = exportedConfig(line) ?? id;
        if (isNerdctlLogLine(line)) continue;
        if (!request.quiet) {
          yield buildStreamMessage(line);
          continue;
        }
        quietTail.push(line);
        if (quietTail.length > QUIET_TAIL_LINES) quietTail.shift();
      }
      const result = await done;
      if (result.exitCode !== 0 || signal.aborted) {
        for (const line of quietTail) yield buildStreamMessage(line);
        yield failure.message(result.exitCode);
        return;
      }
      if (!id) {
        yield errorMessage("nerdctl build succeeded without reporting the image it built (no `exporting config` line)");
        return;
      }
      yield* buildSucceededMessages(id, request.tags, request.quiet);
    } finally {
      kill();
    }
  }
  return { messages: messages(), kill };
}

/** `buildctl prune` on the engine's buildkitd (BUILDKIT_HOST), one JSON record per removed cache entry. */
export function pruneArgv(request: BuildPruneRequest): string[] {
  return [
    "prune",
    "--format={{json .}}",
    ...(request.all ? ["--all"] : []),
    ...(request.keepStorage !== undefined ? [`--keep-storage=${request.keepStorage / 1e6}`] : []),
    ...(request.keepDurationMs !== undefined ? [`--keep-duration=${Math.round(request.keepDurationMs)}ms`] : []),
    ...(request.filter !== undefined ? [`--filter=${request.filter}`] : []),
  ];
}

/** Prunes BuildKit's build cache; dockerd's {CachesDeleted, SpaceReclaimed}. */
export async function pruneBuildCache(nerdctl: Nerdctl, request: BuildPruneRequest, signal?: AbortSignal): Promise<BuildCachePruneReport> {
  const result = await nerdctl.runner.run(nerdctl.command(pruneArgv(request), "buildctl"), signal ? { signal } : {});
  if (result.exitCode !== 0) {
    const message = buildctlMessage(result.stderr);
    if (/failed to parse prune filters/.test(message)) throw badParameter(`invalid filter: ${message}`);
    throw new ApiError("system", `failed to prune build cache: ${message}`);
  }
  return buildPruneReport(result.stdout);
}
