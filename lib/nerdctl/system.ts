import { JSON_FORMAT, type Nerdctl } from "./client.ts";
import type { BuildctlUsageRecord, NerdctlContainerLine, NerdctlInfo, NerdctlVersion } from "./types.ts";

/** `nerdctl version`: nerdctl, buildctl, containerd and runc versions. */
export function version(nerdctl: Nerdctl): Promise<NerdctlVersion> {
  return nerdctl.json<NerdctlVersion>(["version", "--format", JSON_FORMAT]);
}

/** `nerdctl info`: the host and engine as containerd sees them. */
export function info(nerdctl: Nerdctl): Promise<NerdctlInfo> {
  return nerdctl.json<NerdctlInfo>(["info", "--format", JSON_FORMAT]);
}

/** Every container of the namespace, running or not. */
export function listAllContainers(nerdctl: Nerdctl): Promise<NerdctlContainerLine[]> {
  return nerdctl.jsonLines<NerdctlContainerLine>(["ps", "--all", "--no-trunc", "--format", JSON_FORMAT]);
}

/** Full ids of every image of the namespace, one per tag (so possibly repeated). */
export async function listImageIds(nerdctl: Nerdctl): Promise<string[]> {
  const stdout = await nerdctl.output(["images", "--all", "--quiet", "--no-trunc"], {}, { shared: true });
  return stdout.split("\n").filter((line) => line.trim() !== "");
}

/** What GET /info reports of the engine itself, not of its objects. */
export interface EngineReport {
  info: NerdctlInfo;
  version: NerdctlVersion;
}

/**
 * BuildKit's cache records (`buildctl du`: one JSON array, or `null` when the
 * cache is empty); none when buildctl is missing or buildkitd does not answer.
 */
export async function buildCacheUsage(nerdctl: Nerdctl): Promise<BuildctlUsageRecord[]> {
  const result = await nerdctl.runner.run(nerdctl.command(["du", "--format", JSON_FORMAT], "buildctl"), { timeoutMs: 15_000 }).catch(() => undefined);
  if (!result || result.exitCode !== 0) return [];
  try {
    return (JSON.parse(result.stdout.trim() || "null") as BuildctlUsageRecord[] | null) ?? [];
  } catch {
    return [];
  }
}
