import { engineNerdctl } from "./engine-client.ts";

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
