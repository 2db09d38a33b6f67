import type { InteractiveCommand } from "../runner/types.ts";
import type { Nerdctl } from "./client.ts";
import { crashIn } from "./errors.ts";
import { assertObjectName } from "./validate.ts";

/*
 * The verbs that change a container's state. Every container reference is
 * checked by Docker's name grammar and goes after `--`; every option is one
 * `--flag=value` word built from a value the caller has already checked.
 */

const subject = (ref: string) => ({ kind: "container" as const, name: ref });

function checked(ref: string): string {
  return assertObjectName("container", ref);
}

/**
 * `nerdctl start`: the task runs with its output going to the container's log
 * only. Resolves to nerdctl's reason when the runtime refused to start it.
 */
export async function startContainer(nerdctl: Nerdctl, ref: string): Promise<string | undefined> {
  const result = await nerdctl.runner.run(nerdctl.command(["start", "--", checked(ref)]));
  if (result.exitCode === 0) return undefined;
  const crash = crashIn(result.stderr, subject(ref));
  if (crash) throw crash;
  return startFailureMessage(result.stderr) ?? result.stderr.trim();
}

/**
 * Keys nerdctl itself would detach on. The daemon, not nerdctl, detaches a
 * client (each has its own keys), so nerdctl's are made a sequence nobody types.
 */
const UNTYPED_DETACH_KEYS = Array.from({ length: 8 }, () => "ctrl-@").join(",");

/**
 * `nerdctl start --attach`: the task runs with its output (and, with `stdin`,
 * its input) through this child for as long as it runs. A container with a
 * terminal needs one on nerdctl's side too (`tty`); without, stdout and stderr
 * stay apart. nerdctl gives no input to a container without a terminal, so
 * `stdin` is for terminals only. The child exits with the container's code.
 */
export function startAttached(
  nerdctl: Nerdctl,
  ref: string,
  options: { tty?: { columns: number; rows: number }; stdin: boolean },
): InteractiveCommand {
  const flags = ["--attach", ...(options.stdin ? ["--interactive"] : []), `--detach-keys=${UNTYPED_DETACH_KEYS}`];
  return nerdctl.runner.interactive(nerdctl.command(["start", ...flags, "--", checked(ref)]), { tty: options.tty });
}

/**
 * containerd's own client, for what nerdctl cannot do: start a container
 * without a terminal with its stdin open to this child, and its end (the
 * child's input closing) reaching the container as end-of-file. Output is the
 * child's stdout and stderr; it exits with the container's code. The task a
 * previous run left is deleted first, as nerdctl's start does.
 */
export function startWithInput(nerdctl: Nerdctl, id: string): InteractiveCommand {
  return nerdctl.runner.interactive(nerdctl.ctrCommand(["task", "start", "--", checked(id)]));
}

/**
 * Takes over the stdio of a container another process started attached and
 * no longer holds: `nerdctl attach` (under a terminal for a container with
 * one), or containerd's client for one started by it.
 */
export function reattach(nerdctl: Nerdctl, id: string, options: { tty?: { columns: number; rows: number }; stdin: boolean; byContainerd: boolean }): InteractiveCommand {
  if (options.byContainerd) return nerdctl.runner.interactive(nerdctl.ctrCommand(["task", "attach", "--", checked(id)]));
  const flags = [...(options.stdin ? [] : ["--no-stdin"]), `--detach-keys=${UNTYPED_DETACH_KEYS}`];
  return nerdctl.runner.interactive(nerdctl.command(["attach", ...flags, "--", checked(id)]), { tty: options.tty });
}

/** Deletes a stopped task the container still has (ctr cannot start a container that has one). */
export async function deleteStoppedTask(nerdctl: Nerdctl, id: string): Promise<void> {
  // Absent is as good as deleted; a running task is refused, and the start that follows says so.
  await nerdctl.runner.run(nerdctl.ctrCommand(["task", "delete", "--", checked(id)]));
}

/** `nerdctl container healthcheck`: runs the container's check once; nerdctl keeps the result in the container's record. */
export async function runHealthcheck(nerdctl: Nerdctl, id: string): Promise<void> {
  await nerdctl.output(["container", "healthcheck", "--", checked(id)], subject(id));
}

export interface StopOptions {
  /** Seconds before SIGKILL; nerdctl's default (10) when absent. */
  timeout?: number;
  /** The first signal, checked by the caller; the container's stop signal when absent. */
  signal?: string;
}

function stopFlags(options: StopOptions): string[] {
  return [...(options.timeout !== undefined ? [`--time=${options.timeout}`] : []), ...(options.signal ? [`--signal=${options.signal}`] : [])];
}

export async function stopContainer(nerdctl: Nerdctl, ref: string, options: StopOptions): Promise<void> {
  await nerdctl.output(["stop", ...stopFlags(options), "--", checked(ref)], subject(ref));
}

export async function restartContainer(nerdctl: Nerdctl, ref: string, options: StopOptions): Promise<void> {
  await nerdctl.output(["restart", ...stopFlags(options), "--", checked(ref)], subject(ref));
}

export async function killContainer(nerdctl: Nerdctl, ref: string, signal: string): Promise<void> {
  await nerdctl.output(["kill", `--signal=${signal}`, "--", checked(ref)], subject(ref));
}

export async function pauseContainer(nerdctl: Nerdctl, ref: string): Promise<void> {
  await nerdctl.output(["pause", "--", checked(ref)], subject(ref));
}

export async function unpauseContainer(nerdctl: Nerdctl, ref: string): Promise<void> {
  await nerdctl.output(["unpause", "--", checked(ref)], subject(ref));
}

export async function renameContainer(nerdctl: Nerdctl, ref: string, name: string): Promise<void> {
  await nerdctl.output(["rename", "--", checked(ref), checked(name)], subject(ref));
}

/** What `nerdctl update` changes, each already checked and in nerdctl's units. */
export interface UpdateOptions {
  cpus?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** Bytes. */
  memory?: number;
  memoryReservation?: number;
  /** Bytes of memory plus swap; -1 for unlimited. */
  memorySwap?: number;
  pidsLimit?: number;
  blkioWeight?: number;
  /** nerdctl's form: no, always, unless-stopped, on-failure[:N]. */
  restart?: string;
}

const UPDATE_FLAGS: Record<keyof UpdateOptions, string> = {
  cpus: "--cpus",
  cpuPeriod: "--cpu-period",
  cpuQuota: "--cpu-quota",
  cpuShares: "--cpu-shares",
  cpusetCpus: "--cpuset-cpus",
  cpusetMems: "--cpuset-mems",
  memory: "--memory",
  memoryReservation: "--memory-reservation",
  memorySwap: "--memory-swap",
  pidsLimit: "--pids-limit",
  blkioWeight: "--blkio-weight",
  restart: "--restart",
};

export function updateArgs(ref: string, options: UpdateOptions): string[] {
  const flags = (Object.keys(UPDATE_FLAGS) as (keyof UpdateOptions)[]).flatMap((key) =>
    options[key] === undefined ? [] : [`${UPDATE_FLAGS[key]}=${options[key]}`],
  );
  return ["update", ...flags, "--", checked(ref)];
}

export async function updateContainer(nerdctl: Nerdctl, ref: string, options: UpdateOptions): Promise<void> {
  await nerdctl.output(updateArgs(ref, options), subject(ref));
}

/**
 * One of nerdctl's own log lines: `time="…" level=fatal msg="…"`, or at a
 * terminal `FATA[0001] …` in colour.
 */
const LOG_LINE =
  /^(?:time="[^"\n]*" level=[a-z]+ msg="(?:[^"\\\n]|\\.)*"(?: [\w.-]+=(?:"(?:[^"\\\n]|\\.)*"|\S*))*|\x1b\[\d+m(?:PANI|FATA|ERRO|WARN|INFO|DEBU|TRAC)\x1b\[0m\[\d+\] .*)\r?$/;

/**
 * Splits a chunk of an attached start's output into the container's and
 * nerdctl's own log lines: nerdctl logs on the child's stderr (or terminal),
 * shared with the container's output, e.g. the line it prints when the
 * container exits non-zero. Bytes are kept as they are (latin1 both ways).
 */
export function separateNerdctlLogs(chunk: Buffer): { output: Buffer; said: string } {
  if (!chunk.includes("level=") && !chunk.includes("\x1b[")) return { output: chunk, said: "" };
  const kept: string[] = [];
  const said: string[] = [];
  for (const line of chunk.toString("latin1").split(/(?<=\n)/)) {
    if (LOG_LINE.test(line.replace(/\n$/, ""))) said.push(line);
    else kept.push(line);
  }
  return { output: said.length === 0 ? chunk : Buffer.from(kept.join(""), "latin1"), said: Buffer.from(said.join(""), "latin1").toString("utf8") };
}

/** What a failed attached start said last: nerdctl's fatal line (either form) or ctr's error. */
export function startFailureMessage(output: string): string | undefined {
  const plain = [...output.matchAll(/level=fatal msg="((?:[^"\\\n]|\\.)*)"/g)].at(-1)?.[1];
  // At a terminal the message runs to the end, its lines padded.
  const coloured = /\x1b\[\d+mFATA\x1b\[0m\[\d+\] ([\s\S]*)$/.exec(output)?.[1]?.replace(/[ \t]+(\r?\n|$)/g, "$1").replace(/\r/g, "");
  const message = plain !== undefined ? (JSON.parse(`"${plain}"`) as string) : (coloured ?? /^ctr: (.+)$/m.exec(output)?.[1]);
  // nerdctl wraps one error as a list: "1 errors:\n…".
  return message?.replace(/^\d+ errors?:\s*/, "").trim();
}
