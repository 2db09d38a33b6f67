import { engineNerdctl } from "./engine-client.ts";

/**
 * Empties a containerd namespace a suite made for itself, object by object,
 * and removes it: `system prune` would also empty the build cache, which is
 * not the namespace's alone. Throws with what could not be removed.
 */
export async function removeNamespace(namespace: string): Promise<void> {
  // containerd makes a namespace with the first thing put in it: there may be none.
  const listed = await engineNerdctl(["namespace", "ls", "--quiet"]);
  if (!listed.stdout.split("\n").includes(namespace)) return;
  const names = async (...args: string[]) => (await engineNerdctl(args, { namespace })).stdout.split("\n").filter(Boolean);
  const failures: string[] = [];
  const remove = async (args: string[], ids: string[]) => {
    if (ids.length === 0) return;
    const result = await engineNerdctl([...args, ...ids], { namespace });
    if (result.exitCode !== 0) failures.push(result.stderr);
  };
  await remove(["rm", "--force", "--"], await names("ps", "--all", "--quiet", "--no-trunc"));
  await remove(["rmi", "--force", "--"], await names("images", "--all", "--quiet", "--no-trunc"));
  await remove(["volume", "rm", "--force", "--"], await names("volume", "ls", "--quiet"));
  const builtin = ["bridge", "host", "none"];
  await remove(["network", "rm", "--"], (await names("network", "ls", "--format", "{{.Name}}")).filter((name) => !builtin.includes(name)));
  const removed = await engineNerdctl(["namespace", "remove", namespace]);
  if (removed.exitCode !== 0) failures.push(removed.stderr);
  if (failures.length > 0) throw new Error(`namespace ${namespace} left behind:\n${failures.join("\n")}`);
}
