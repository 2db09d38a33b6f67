import type { RunningCommand } from "../runner/types.ts";
import type { Nerdctl } from "./client.ts";
import { assertObjectName } from "./validate.ts";

/** What `nerdctl logs` is asked for; each value is checked before it gets here (lib/docker/logs.ts). */
export interface LogsOptions {
  follow: boolean;
  timestamps: boolean;
  /** A unix time (seconds, optionally with a fraction) or an RFC 3339 time; absent for no bound. */
  since?: string;
  until?: string;
  /** A number of lines; absent for all of them. */
  tail?: string;
}

/** Whether the container runs with a terminal (its output is then one raw stream, not frames). */
export async function hasTerminal(nerdctl: Nerdctl, ref: string): Promise<boolean> {
  assertObjectName("container", ref);
  const process = await nerdctl.json<{ terminal?: boolean }>(
    ["container", "inspect", "--mode", "native", "--format", "{{json .Spec.process}}", "--", ref],
    { kind: "container", name: ref },
  );
  return process.terminal === true;
}

/** `nerdctl logs`, streaming: the container's stdout on the child's stdout, its stderr on stderr. */
export function streamLogs(nerdctl: Nerdctl, ref: string, options: LogsOptions, signal: AbortSignal): RunningCommand {
  assertObjectName("container", ref);
  const args = ["logs"];
  if (options.follow) args.push("--follow");
  if (options.timestamps) args.push("--timestamps");
  // One word each, so no value can be read as a flag of its own.
  if (options.since !== undefined) args.push(`--since=${options.since}`);
  if (options.until !== undefined) args.push(`--until=${options.until}`);
  if (options.tail !== undefined) args.push(`--tail=${options.tail}`);
  return nerdctl.runner.spawn(nerdctl.command([...args, "--", ref]), { signal });
}
