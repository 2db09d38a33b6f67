import { dirname, join } from "node:path";
import { engineNerdctl, engineShell } from "./engine-client.ts";

/**
 * Gives a namespace the seed the default one starts with — the busybox image
 * and containers web (running), done (exited), fresh (created) — so every
 * cell of the matrix runs against the same scenario. Idempotent.
 */
export function seedNamespace(namespace: string): Promise<void> {
  // Cells of one file that share a namespace may run at once: they share one seeding.
  let seeding = seeded.get(namespace);
  if (!seeding) {
    seeding = seed(namespace);
    seeded.set(namespace, seeding);
    seeding.catch(() => seeded.delete(namespace));
  }
  return seeding;
}

const seeded = new Map<string, Promise<void>>();

async function seed(namespace: string): Promise<void> {
  if (namespace === "default") return;
  const must = async (args: string[], options: { namespace?: string } = {}) => {
    const result = await engineNerdctl(args, options);
    if (result.exitCode !== 0) throw new Error(`seed ${namespace}: nerdctl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  const existing = (await must(["ps", "--all", "--format", "{{.Names}}"], { namespace })).split("\n");
  if (existing.includes("web")) return;
  const archive = `/tmp/nerdctld-seed-${namespace}.tar`;
  await must(["save", "--output", archive, "busybox:latest"]);
  await must(["load", "--input", archive], { namespace });
  await must(["run", "--detach", "--name", "web", "busybox", "sleep", "3600"], { namespace });
  await must(["run", "--name", "done", "busybox", "true"], { namespace });
  await must(["create", "--name", "fresh", "busybox"], { namespace });
}

/** Removes a namespace and everything in it; throws with what was left behind. */
export async function removeNamespace(namespace: string): Promise<void> {
  // containerd makes a namespace with the first thing put in it: there may be none.
  const listed = await engineNerdctl(["namespace", "ls", "--quiet"]);
  if (!listed.stdout.split("\n").includes(namespace)) return;
  // Object by object: `system prune` would also empty the build cache, which is not the namespace's alone.
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
  // Leases of nerdctl calls that were killed (a client left a pull or a load) pin content for a day.
  const leases = await namespaceLeases(namespace);
  if (leases.length > 0) {
    const result = await engineCtr(namespace, ["leases", "rm", "--sync", ...leases]);
    if (result.exitCode !== 0) failures.push(result.stderr);
  }
  const removed = await engineNerdctl(["namespace", "remove", namespace]);
  if (removed.exitCode !== 0) failures.push(removed.stderr);
  if (failures.length > 0) throw new Error(`namespace ${namespace} left behind:\n${failures.join("\n")}`);
}

/** ctr against the engine of this e2e run, in a namespace (arguments are quoted for its shell). */
async function engineCtr(namespace: string, args: string[]) {
  const { inject } = await import("vitest");
  const access = inject("engine");
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const argv = [join(dirname(access.nerdctl), "ctr"), `--address=${access.env.CONTAINERD_ADDRESS ?? ""}`, `--namespace=${namespace}`, ...args];
  return engineShell(argv.map(quote).join(" "));
}

/** The containerd leases of a namespace, by id. */
export async function namespaceLeases(namespace: string): Promise<string[]> {
  const listed = await engineCtr(namespace, ["leases", "ls", "--quiet"]);
  return listed.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
}
