import { errorFromStderr } from "./errors.ts";
import type { Nerdctl } from "./client.ts";

/** A containerd lease as `ctr leases ls` prints it. */
export interface Lease {
  id: string;
  /** When containerd made it, to the second. */
  createdAt: Date;
  labels: Record<string, string>;
}

/** The namespace's leases (nerdctl has no command for them: containerd's own client reads them). */
export async function listLeases(nerdctl: Nerdctl): Promise<Lease[]> {
  const result = await nerdctl.runner.run(nerdctl.ctrCommand(["leases", "ls"]));
  if (result.exitCode !== 0) throw errorFromStderr(result.stderr, {});
  return parseLeases(result.stdout);
}

/** Removes leases by id; what they held goes at containerd's next collection. */
export async function removeLeases(nerdctl: Nerdctl, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const result = await nerdctl.runner.run(nerdctl.ctrCommand(["leases", "rm", "--", ...ids]));
  if (result.exitCode !== 0) throw errorFromStderr(result.stderr, {});
}

/**
 * `ctr leases ls`'s table: a header, then `ID  CREATED AT  LABELS` per lease,
 * the labels `k=v` joined by commas (ctr prints no column for a lease without labels).
 */
export function parseLeases(table: string): Lease[] {
  const leases: Lease[] = [];
  for (const line of table.split("\n").slice(1)) {
    const [id, created, ...labelWords] = line.trim().split(/\s+/);
    const labelText = labelWords.join(" ");
    if (!id || !created) continue;
    const createdAt = new Date(created);
    if (Number.isNaN(createdAt.getTime())) continue;
    const labels: Record<string, string> = {};
    for (const pair of labelText === "" ? [] : labelText.split(",")) {
      const equals = pair.indexOf("=");
      if (equals > 0) labels[pair.slice(0, equals)] = pair.slice(equals + 1);
    }
    leases.push({ id, createdAt, labels });
  }
  return leases;
}
