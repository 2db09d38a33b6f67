import { constants } from "node:os";
import { badParameter, conflict, describeValue, systemError } from "../errors.ts";
import type { StopOptions, UpdateOptions } from "../nerdctl/container-lifecycle.ts";

/*
 * The parameters of the lifecycle calls (start, stop, kill, wait, rename,
 * update, remove), checked as dockerd checks them, and dockerd's words for
 * what a state forbids.
 */

const SIGNAL_NUMBERS = constants.signals as Record<string, number | undefined>;

/**
 * A signal as the client named it ("KILL", "SIGKILL", "9"), in the form
 * nerdctl reads: a name with its SIG prefix, or a number. dockerd's 400 otherwise.
 */
export function parseSignal(value: string): string {
  if (/^\d+$/.test(value)) {
    const number = Number(value);
    if (number >= 1 && number <= 64) return String(number);
  } else {
    const name = value.toUpperCase().startsWith("SIG") ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
    if (SIGNAL_NUMBERS[name] !== undefined || /^SIGRTM(IN|AX)([+-]\d{1,2})?$/.test(name)) return name;
  }
  throw badParameter(`Invalid signal: ${describeValue(value)}`);
}

/**
 * `t` and `signal` of stop and restart: seconds to wait before SIGKILL (-1
 * waits as long as it takes), and the signal to send first.
 */
export function parseStopOptions(query: { t: number | undefined; signal: string | undefined }): StopOptions {
  // nerdctl has no "forever"; a day is what a client asking for it cannot tell apart from one.
  const timeout = query.t === undefined ? undefined : query.t < 0 ? 86_400 : query.t;
  return { timeout, signal: query.signal ? parseSignal(query.signal) : undefined };
}

export type WaitCondition = "not-running" | "next-exit" | "removed";

export function parseWaitCondition(value: string | undefined): WaitCondition {
  if (value === undefined || value === "" || value === "not-running") return "not-running";
  if (value === "next-exit" || value === "removed") return value;
  throw badParameter(`invalid condition: ${describeValue(value)}`);
}

/** Docker's container name rule, as create and rename apply it. */
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function parseNewName(value: string | undefined): string {
  if (!value) throw badParameter("Neither old nor new names may be empty");
  if (!CONTAINER_NAME.test(value)) throw badParameter(`Invalid container name (${value}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return value.replace(/^\//, "");
}

/** dockerd's 409 for a name another container holds. */
export function nameInUse(name: string, holder: string): Error {
  return conflict(
    `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
  );
}

/**
 * A start the runtime refused, as dockerd classes it: a command that cannot
 * be run is the client's mistake (400; the docker CLI then exits 126 or 127
 * by the words), anything else the daemon's.
 */
export function startRefused(message: string): Error {
  const text = `failed to create task for container: ${message}`;
  return /executable file not found|no such file or directory|permission denied|not a directory/i.test(message) ? badParameter(text) : systemError(text);
}

export const notRunning = (id: string) => conflict(`Container ${id} is not running`);

export function cannotKill(ref: string, id: string): Error {
  return conflict(`Cannot kill container: ${ref}: Container ${id} is not running`);
}

export function cannotRemove(state: "running" | "paused" | "restarting", id: string): Error {
  return conflict(`You cannot remove a ${state} container ${id}. Stop the container before attempting removal or force remove`);
}

/** The restart policy of create and update, in nerdctl's form. */
export function restartPolicy(policy: { Name?: string; MaximumRetryCount?: number } | undefined): string | undefined {
  if (!policy || policy.Name === undefined) return undefined;
  switch (policy.Name) {
    case "":
    case "no":
      return "no";
    case "always":
    case "unless-stopped":
      return policy.Name;
    case "on-failure":
      return policy.MaximumRetryCount ? `on-failure:${policy.MaximumRetryCount}` : "on-failure";
    default:
      throw badParameter(`invalid restart policy: unknown policy '${policy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

/** The fields of POST /containers/{id}/update nerdctl can change, and where each goes. */
const UPDATABLE: Record<string, (value: unknown, options: UpdateOptions) => void> = {
  Memory: (value, options) => (options.memory = nonNegative("Memory", value)),
  MemoryReservation: (value, options) => (options.memoryReservation = nonNegative("MemoryReservation", value)),
  MemorySwap: (value, options) => (options.memorySwap = integer("MemorySwap", value)),
  NanoCpus: (value, options) => (options.cpus = nonNegative("NanoCpus", value) / 1e9),
  CpuPeriod: (value, options) => (options.cpuPeriod = nonNegative("CpuPeriod", value)),
  CpuQuota: (value, options) => (options.cpuQuota = integer("CpuQuota", value)),
  CpuShares: (value, options) => (options.cpuShares = nonNegative("CpuShares", value)),
  CpusetCpus: (value, options) => (options.cpusetCpus = cpuset("CpusetCpus", value)),
  CpusetMems: (value, options) => (options.cpusetMems = cpuset("CpusetMems", value)),
  PidsLimit: (value, options) => (options.pidsLimit = value === null ? undefined : integer("PidsLimit", value)),
  BlkioWeight: (value, options) => (options.blkioWeight = nonNegative("BlkioWeight", value)),
  RestartPolicy: (value, options) => (options.restart = restartPolicy(value as { Name?: string; MaximumRetryCount?: number })),
};

function integer(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw badParameter(`${field} must be an integer`);
  return value;
}

function nonNegative(field: string, value: unknown): number {
  const number = integer(field, value);
  if (number < 0) throw badParameter(`${field} must not be negative`);
  return number;
}

function cpuset(field: string, value: unknown): string {
  if (typeof value !== "string" || !/^[0-9,-]*$/.test(value)) throw badParameter(`invalid ${field}: ${describeValue(String(value))}`);
  return value;
}

/** Zero values of the update body mean "leave as it is", as dockerd reads them. */
function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === 0 || value === "" || (Array.isArray(value) && value.length === 0);
}

/**
 * The body of POST /containers/{id}/update. A resource nerdctl cannot change
 * is refused by name rather than left as it was while the client believes it changed.
 */
export function parseUpdate(body: unknown): UpdateOptions {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badParameter("the update body must be a JSON object");
  const options: UpdateOptions = {};
  for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
    const apply = UPDATABLE[field];
    if (apply) {
      // A restart policy without a name leaves the policy as it is (docker update sends one always).
      const unset = field === "RestartPolicy" ? !(value as { Name?: string } | null)?.Name : isUnset(value);
      if (!unset) apply(value, options);
    } else if (!isUnset(value)) {
      throw badParameter(`${field} cannot be updated on this engine`);
    }
  }
  if (options.cpus !== undefined && (options.cpuPeriod !== undefined || options.cpuQuota !== undefined)) {
    throw badParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  return options;
}
