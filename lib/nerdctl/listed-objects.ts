import type { Nerdctl } from "./client.ts";
import { crashIn, errorFromStderr, nerdctlMessage } from "./errors.ts";

/**
 * One read of several objects a listing named, for those still there.
 * nerdctl fails such a read as a whole (`no such container: …`, one line
 * each) when some are gone: removed after they were listed, or the image a
 * container was made from. Those it names are dropped and the rest asked
 * again, so this takes one call unless objects are missing. Its stdout, and
 * the names it answered for; undefined when none is left.
 */
export async function readListed(
  nerdctl: Nerdctl,
  kind: "image" | "container",
  names: readonly string[],
  args: (names: readonly string[]) => string[],
): Promise<{ stdout: string; names: readonly string[] } | undefined> {
  let wanted = names;
  while (wanted.length > 0) {
    const result = await nerdctl.runner.run(nerdctl.command(args(wanted)), { shared: true });
    if (result.exitCode === 0) return { stdout: result.stdout, names: wanted };
    const crash = crashIn(result.stderr, {});
    if (crash) throw crash;
    const missing = [...nerdctlMessage(result.stderr).matchAll(new RegExp(`no such ${kind}: (\\S+)`, "g"))].map((match) => match[1]!);
    if (missing.length === 0 || !missing.every((name) => wanted.includes(name))) throw errorFromStderr(result.stderr, {});
    wanted = wanted.filter((name) => !missing.includes(name));
  }
  return undefined;
}
