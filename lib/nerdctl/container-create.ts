import { ApiError, badParameter, describeValue, isKind } from "../errors.ts";
import { assertImageName } from "../reference.ts";
import type { Nerdctl } from "./client.ts";
import { assertObjectName } from "./validate.ts";

/*
 * `nerdctl create`: the options it takes, by flag, and the argv made of them.
 * Every value rides in one `--flag=value` word, so none can be read as a flag
 * of its own; the image and the command come after `--`.
 */

/** Flags that take one value. */
export type SingleFlag =
  | "name"
  | "platform"
  | "hostname"
  | "domainname"
  | "user"
  | "workdir"
  | "restart"
  | "stop-signal"
  | "stop-timeout"
  | "health-cmd"
  | "health-interval"
  | "health-timeout"
  | "health-retries"
  | "health-start-period"
  | "ip"
  | "ip6"
  | "mac-address"
  | "ipc"
  | "pid"
  | "uts"
  | "cgroupns"
  | "cgroup-parent"
  | "memory"
  | "memory-swap"
  | "memory-reservation"
  | "memory-swappiness"
  | "cpus"
  | "cpu-shares"
  | "cpu-quota"
  | "cpu-period"
  | "cpu-rt-period"
  | "cpu-rt-runtime"
  | "cpuset-cpus"
  | "cpuset-mems"
  | "pids-limit"
  | "oom-score-adj"
  | "shm-size"
  | "blkio-weight"
  | "log-driver"
  | "runtime"
  | "userns";

/** Flags nerdctl reads as comma-separated lists (a value holding a comma or a quote would be split or unquoted). */
export type ListFlag = "network" | "publish" | "dns" | "dns-search" | "dns-opt" | "add-host" | "cap-add" | "cap-drop" | "device" | "ulimit" | "group-add";

/** Flags that may repeat, each value taken verbatim. */
export type RepeatedFlag =
  | "env"
  | "label"
  | "annotation"
  | "volume"
  | "mount"
  | "tmpfs"
  | "volumes-from"
  | "security-opt"
  | "sysctl"
  | "log-opt"
  | "blkio-weight-device"
  | "device-read-bps"
  | "device-write-bps"
  | "device-read-iops"
  | "device-write-iops";

/** Flags that take no value. */
export type SwitchFlag = "tty" | "rm" | "init" | "privileged" | "read-only" | "oom-kill-disable" | "no-healthcheck";

export interface ContainerCreateOptions {
  /** A reference or record name nerdctl resolves locally (never pulled). */
  image: string;
  /** The words after the image: the command, or the arguments of the entrypoint. */
  command: string[];
  /** Replaces the image's entrypoint, one word per element; undefined keeps the image's. */
  entrypoint?: string[];
  single: Partial<Record<SingleFlag, string>>;
  lists: Partial<Record<ListFlag, string[]>>;
  repeated: Partial<Record<RepeatedFlag, string[]>>;
  switches: SwitchFlag[];
}

/** Raised when the name is taken: the container holding it, for the caller's wording. */
export class NameInUse extends ApiError {
  constructor(
    readonly containerName: string,
    readonly holder: string,
    message: string,
  ) {
    super("conflict", message);
  }
}

function refuse(flag: string, value: string, why: string): never {
  throw badParameter(`invalid value for --${flag}: ${describeValue(value)} (${why})`);
}

/** No value reaches argv with a NUL (the kernel would cut the word there). */
function plain(flag: string, value: string): string {
  if (value.includes("\0")) refuse(flag, value, "NUL character");
  return value;
}

/** A one-line value: no control characters. */
function line(flag: string, value: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) refuse(flag, value, "control character");
  return value;
}

/** One item of a comma-separated list, which must stay one item. */
function listItem(flag: string, value: string): string {
  if (/[,"]/.test(value) || value === "") refuse(flag, value, "a list item cannot be empty or hold a comma or a quote");
  return line(flag, value);
}

/** The argv of `nerdctl create` (without the global flags). */
export function createArgs(options: ContainerCreateOptions): string[] {
  assertImageName(options.image);
  if (options.single.name !== undefined) assertObjectName("container", options.single.name);
  const args = ["create", "--pull=never"];
  for (const flag of options.switches) args.push(`--${flag}`);
  for (const [flag, value] of Object.entries(options.single) as [SingleFlag, string][]) {
    args.push(`--${flag}=${line(flag, value)}`);
  }
  for (const [flag, values] of Object.entries(options.lists) as [ListFlag, string[]][]) {
    for (const value of values) args.push(`--${flag}=${listItem(flag, value)}`);
  }
  for (const [flag, values] of Object.entries(options.repeated) as [RepeatedFlag, string[]][]) {
    for (const value of values) args.push(`--${flag}=${plain(flag, value)}`);
  }
  for (const word of options.entrypoint ?? []) args.push(`--entrypoint=${plain("entrypoint", word)}`);
  const command = options.command.map((word) => plain("command", word));
  // nerdctl drops a `--` right after the image (it reads it as the end of its flags): a command starting with one keeps it this way.
  const guard = command[0] === "--" ? ["--"] : [];
  return [...args, "--", options.image, ...guard, ...command];
}

/** nerdctl's name store refusing a taken name. */
const NAME_TAKEN = /name "([^"]+)" is already used by ID "([0-9a-f]+)"/;

/** Creates the container; returns its full id. */
export async function createContainer(nerdctl: Nerdctl, options: ContainerCreateOptions): Promise<string> {
  const init = options.switches.includes("init") && nerdctl.options.initBinary ? [`--init-binary=${nerdctl.options.initBinary}`] : [];
  const [verb, ...rest] = createArgs(options);
  const args = [verb!, ...init, ...rest];
  let stdout: string;
  try {
    stdout = await nerdctl.output(args);
  } catch (error) {
    if (!isKind(error, "conflict")) throw error;
    const taken = NAME_TAKEN.exec(error.message);
    throw taken ? new NameInUse(taken[1]!, taken[2]!, error.message) : error;
  }
  const id = stdout.trim().split("\n").at(-1)?.trim() ?? "";
  if (!/^[0-9a-f]{64}$/.test(id)) throw new ApiError("system", `nerdctl create printed no container id: ${describeValue(stdout.trim())}`);
  return id;
}
