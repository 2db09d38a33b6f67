import { badParameter } from "../errors.ts";
import type { RunningCommand } from "../runner/types.ts";
import type { Nerdctl } from "./client.ts";
import { assertObjectName } from "./validate.ts";

export interface LogsOptions {
  follow: boolean;
  timestamps: boolean;
  /** A unix time (seconds, optionally with a fraction) or an RFC 3339 time. */
  since?: string;
  until?: string;
  /** "all" or a number of lines. */
  tail?: string;
}

const TIME = /^(\d+(\.\d{1,9})?|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2}))$/;

/** Whether the container runs with a terminal (its output is then one raw stream, not frames). */
export async function hasTerminal(nerdctl: Nerdctl, ref: string): Promise<boolean> {
  assertObjectName("container", ref);
  const process = await nerdctl.json<{ terminal?: boolean }>(
    ["container", "inspect", "--mode", "native", "--format", "{{json .Spec.process}}", "--", ref],
    { kind: "container", name: ref },
  );
  return process.terminal === true;
}

/** `nerdctl logs` arguments, checked (a bad value is a 400 before anything runs). */
export function logsArgs(ref: string, options: LogsOptions): string[] {
  assertObjectName("container", ref);
  const args = ["logs"];
  if (options.follow) args.push("--follow");
  if (options.timestamps) args.push("--timestamps");
  for (const [flag, value] of [["since", options.since], ["until", options.until]] as const) {
    if (value === undefined || value === "" || value === "0") continue;
    if (!TIME.test(value)) throw badParameter(`invalid ${flag}: ${JSON.stringify(value.slice(0, 40))}`);
    args.push(`--${flag}=${value}`);
  }
  if (options.tail !== undefined && options.tail !== "" && options.tail !== "all") {
    if (!/^\d+$/.test(options.tail)) throw badParameter(`invalid tail: ${JSON.stringify(options.tail.slice(0, 40))}`);
    args.push(`--tail=${options.tail}`);
  }
  return [...args, "--", ref];
}

/** `nerdctl logs`, streaming: the container's stdout on the child's stdout, its stderr on stderr. */
export function streamLogs(nerdctl: Nerdctl, args: string[], signal: AbortSignal): RunningCommand {
  return nerdctl.runner.spawn(nerdctl.command(args), { signal });
}
