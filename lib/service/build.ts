/**
 * Builds: the context received and checked into a temporary directory, then
 * `nerdctl build` on it, its output streamed as it comes. The child is killed
 * when the client goes away, and the directory is removed once the child has
 * exited, whichever way it ends. Build cache pruning with `buildctl prune`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { dockerfileIn, receiveBuildContext, type BuildDirectory } from "../archive/build-context.ts";
import {
  BuildFailure,
  buildPruneReport,
  buildStreamMessage,
  buildSucceededMessages,
  exportedConfig,
  isNerdctlLogLine,
  type BuildCachePruneReport,
  type BuildRequest,
} from "../docker/build.ts";
import { errorMessage, type JSONMessage, type MessageStream } from "../docker/progress.ts";
import { readLines } from "../io/lines.ts";
import { whenClientGone } from "../io/signals.ts";
import { buildctlPrune, killStragglers, startBuild, type PruneOptions } from "../nerdctl/build.ts";
import type { RunningCommand } from "../runner/types.ts";
import type { Scope } from "./scope.ts";

/** Lines of output a quiet build keeps, to show them if it fails (dockerd shows everything then). */
const QUIET_TAIL_LINES = 2000;

export interface BuildInput {
  request: BuildRequest;
  /** A docker config.json with the client's registry credentials (X-Registry-Config). */
  dockerConfig?: string | undefined;
  /** The context: a tar archive, plain or gzip. */
  context: Readable;
}

/**
 * POST /build: receives the context, then starts `nerdctl build`. The
 * messages are BuildKit's plain progress, one `{"stream"}` per line, then
 * dockerd's `aux` ID and `Successfully built/tagged` lines, or the error that
 * made the build fail.
 */
export async function buildImage(scope: Scope, input: BuildInput, signal: AbortSignal): Promise<MessageStream> {
  const { request } = input;
  const dir = await receiveBuildContext(input.context, { signal });
  let child: RunningCommand;
  try {
    const dockerfilePath = await dockerfileIn(dir, request.dockerfile);
    const env = input.dockerConfig === undefined ? undefined : await writeDockerConfig(dir, input.dockerConfig);
    if (signal.aborted) throw new Error("the client went away before the build started");
    child = startBuild(scope.nerdctl, { options: request, dockerfilePath, contextDir: dir.context, env });
  } catch (error) {
    await dir.remove();
    throw error;
  }
  // nerdctl loads what buildkitd exported under a lease of its own.
  const lease = scope.leases?.holding(scope.nerdctl);
  let exited = false;
  let killed = false;
  const kill = () => {
    if (exited) return;
    killed = true;
    child.kill();
    // Twice: a buildctl nerdctl was starting just then is found the second time.
    void killStragglers(dir.root).then(() => setTimeout(() => void killStragglers(dir.root), 200).unref());
  };
  const stopListening = whenClientGone(signal, kill);
  const done = child.exited.finally(() => {
    exited = true;
    stopListening();
    lease?.(killed);
    scope.state.imagesChanged();
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

/** The client's credentials as a DOCKER_CONFIG inside the build directory (0700, file 0600), gone with it. */
async function writeDockerConfig(dir: BuildDirectory, config: string): Promise<Record<string, string>> {
  const configDir = join(dir.root, "docker-config");
  await mkdir(configDir, { mode: 0o700 });
  await writeFile(join(configDir, "config.json"), config, { mode: 0o600 });
  return { DOCKER_CONFIG: configDir };
}

/** POST /build/prune: BuildKit's cache, pruned with buildctl; dockerd's {CachesDeleted, SpaceReclaimed}. */
export async function pruneBuildCache(scope: Scope, options: PruneOptions, signal: AbortSignal): Promise<BuildCachePruneReport> {
  return buildPruneReport(await buildctlPrune(scope.nerdctl, options, signal));
}
