import { badParameter, conflict, describeValue, systemError, type ApiError } from "../errors.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { stateName } from "./containers.ts";
import { parseDetachKeys } from "./exec-detach.ts";
import { reader } from "./go-json.ts";

/*
 * Docker's exec instances: the bodies of POST /containers/{id}/exec and
 * /exec/{id}/start read as dockerd's Go decoder reads them, the checks
 * dockerd makes on the container, and the document GET /exec/{id}/json shows.
 */

/** A terminal's size as Docker gives it: rows first. */
export interface ConsoleSize {
  height: number;
  width: number;
}

/** POST /containers/{id}/exec, decoded. */
export interface ExecCreateRequest {
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  detachKeys: string;
  tty: boolean;
  consoleSize?: ConsoleSize;
  env: string[];
  privileged: boolean;
  user: string;
  workingDir: string;
  cmd: string[];
}

/** POST /exec/{id}/start, decoded. */
export interface ExecStartRequest {
  detach: boolean;
  /** Whether the client reads the output as a terminal's (raw) or as stdcopy frames. */
  tty: boolean;
  consoleSize?: ConsoleSize;
}

/** An exec instance as dockerd keeps it: what was asked, with the container's defaults filled in. */
export interface ExecConfig {
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
  /** The bytes that detach a client from a terminal; empty for Docker's default. */
  detachKeys: Uint8Array;
  tty: boolean;
  consoleSize?: ConsoleSize;
  privileged: boolean;
  /** The user it runs as: the one asked for, else the container's. */
  user: string;
  /** Only what the client asked for (nerdctl starts from the container's own). */
  requestedUser: string;
  workingDir: string;
  env: string[];
  entrypoint: string;
  arguments: string[];
}

/** GET /exec/{id}/json. */
export interface ExecInspectResponse {
  ID: string;
  Running: boolean;
  /** null until the process has ended. */
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user?: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  /** The detach keys' bytes, base64 (Go encodes a byte slice so). */
  DetachKeys: string;
  Pid: number;
}

/** The exit code dockerd gives an exec whose process could not be started. */
export const START_FAILED_EXIT_CODE = 126;

/** What the runtime says when a command cannot be run (dockerd's isInvalidCommand). */
const INVALID_COMMAND = ["executable file not found", "no such file or directory", "system cannot find the file specified", "failed to run runc create/exec call"];

/**
 * A process that could not be started, as dockerd words and classes it
 * (setExitCodeFromError): the client's fault (400) when the command, a
 * permission or a directory is wrong, a 500 otherwise. nerdctl's reason is
 * put in dockerd's words where they differ: a user or group not in the
 * container (`user` is the exec's, as `name[:group]`), and the gRPC code
 * dockerd shows after the runtime's errors.
 */
export function startFailure(reason: string, user: string): ApiError {
  const [name, group] = user.split(":");
  let message = reason;
  if (reason === "no users found") message = `unable to find user ${name}: no matching entries in passwd file`;
  if (reason === "no groups found") message = `unable to find group ${group}: no matching entries in group file`;
  if (reason.startsWith("OCI runtime ") && !reason.endsWith(": unknown")) message = `${reason}: unknown`;
  const lower = message.toLowerCase();
  if (lower.includes("permission denied")) return badParameter(message);
  // Go reports running a directory as EISDIR; docker/cli looks for EACCES' words.
  if (lower.includes("is a directory")) return badParameter(`${message}: permission denied`);
  if (lower.includes("not a directory")) {
    return badParameter(`${message}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`);
  }
  if (INVALID_COMMAND.some((words) => lower.includes(words))) return badParameter(message);
  return systemError(message);
}

/** The body of POST /containers/{id}/exec. `since142`: ConsoleSize is read from API 1.42 on. */
export function parseExecCreate(body: unknown, since142: boolean): ExecCreateRequest {
  const read = reader("ExecConfig", body);
  const request: ExecCreateRequest = {
    attachStdin: read.bool("AttachStdin"),
    attachStdout: read.bool("AttachStdout"),
    attachStderr: read.bool("AttachStderr"),
    detachKeys: read.string("DetachKeys"),
    tty: read.bool("Tty"),
    consoleSize: read.size("ConsoleSize"),
    env: read.strings("Env"),
    privileged: read.bool("Privileged"),
    user: read.string("User"),
    workingDir: read.string("WorkingDir"),
    cmd: read.strings("Cmd"),
  };
  if (request.cmd.length === 0) throw badParameter("No exec command specified");
  if (!since142) delete request.consoleSize;
  return request;
}

/** The body of POST /exec/{id}/start: a console size only with a terminal, from API 1.42 on. */
export function parseExecStart(body: unknown, since142: boolean): ExecStartRequest {
  const read = reader("ExecStartCheck", body);
  const request: ExecStartRequest = { detach: read.bool("Detach"), tty: read.bool("Tty"), consoleSize: read.size("ConsoleSize") };
  if (!since142 || !request.tty) delete request.consoleSize;
  return request;
}

/**
 * POST /exec/{id}/resize's h and w, read as Go's strconv.Atoi reads them:
 * any 64-bit integer is accepted (a size no terminal can have changes nothing).
 */
export function parseResize(height: string | undefined, width: string | undefined): ConsoleSize {
  const integer = (value: string | undefined) => {
    const text = value ?? "";
    if (!/^[+-]?\d+$/.test(text)) throw badParameter(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
    const number = BigInt(text);
    if (number > 2n ** 63n - 1n || number < -(2n ** 63n)) throw badParameter(`strconv.Atoi: parsing ${JSON.stringify(text)}: value out of range`);
    return Number(number);
  };
  return { height: integer(height), width: integer(width) };
}

/**
 * dockerd's refusals to exec into a container that is not running, in its
 * words: the paused one names the container as the client did, the others by id.
 */
export function assertCanExec(container: NerdctlContainerInspect, ref: string): void {
  const state = stateName(container);
  if (state === "paused") throw conflict(`Container ${ref} is paused, unpause the container before exec`);
  if (state === "restarting") throw conflict(`Container ${container.Id} is restarting, wait until the container is running`);
  if (state !== "running") throw conflict(`Container ${container.Id} is not running`);
}

/** The same checks when an existing instance is started or resized: dockerd names the container by id in all of them. */
export function assertStillRunning(container: NerdctlContainerInspect): void {
  assertCanExec(container, container.Id);
}

/**
 * The variables the process gets on top of the container's: TERM=xterm with a
 * terminal (dockerd's default), then the client's. Docker reads a bare name
 * as "unset this one"; nerdctl would fill it in from its own environment
 * instead, so a bare name is dropped when there is nothing to unset, and
 * refused when there is.
 */
export function execEnv(requested: readonly string[], tty: boolean, containerEnv: readonly string[]): string[] {
  const nameOf = (variable: string) => variable.split("=", 1)[0]!;
  let env = tty ? ["TERM=xterm"] : [];
  for (const variable of requested) {
    if (variable.startsWith("=")) throw badParameter(`invalid environment variable: ${describeValue(variable)}`);
    if (variable.includes("=")) {
      env.push(variable);
    } else if (containerEnv.some((candidate) => nameOf(candidate) === variable)) {
      throw badParameter(`cannot unset ${variable}: nerdctl has no way to remove a variable the container sets`);
    } else {
      env = env.filter((candidate) => nameOf(candidate) !== variable);
    }
  }
  return env;
}

/** An exec instance of a running container, as dockerd records it at creation. */
export function execConfig(request: ExecCreateRequest, container: NerdctlContainerInspect): ExecConfig {
  const [entrypoint, ...args] = request.cmd;
  return {
    openStdin: request.attachStdin,
    openStdout: request.attachStdout,
    openStderr: request.attachStderr,
    detachKeys: parseDetachKeys(request.detachKeys),
    tty: request.tty,
    consoleSize: request.consoleSize,
    privileged: request.privileged,
    user: request.user || (container.Config.User ?? ""),
    requestedUser: request.user,
    workingDir: request.workingDir,
    env: execEnv(request.env, request.tty, container.Config.Env ?? []),
    entrypoint: entrypoint!,
    arguments: args,
  };
}

/** What GET /exec/{id}/json shows of an instance. */
export interface ExecState {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  canRemove: boolean;
  pid: number;
}

export function execInspectDocument(exec: ExecState): ExecInspectResponse {
  const { config } = exec;
  return {
    ID: exec.id,
    Running: exec.running,
    ExitCode: exec.exitCode,
    ProcessConfig: {
      tty: config.tty,
      entrypoint: config.entrypoint,
      arguments: config.arguments,
      privileged: config.privileged,
      ...(config.user ? { user: config.user } : {}),
    },
    OpenStdin: config.openStdin,
    OpenStderr: config.openStderr,
    OpenStdout: config.openStdout,
    CanRemove: exec.canRemove,
    ContainerID: exec.containerId,
    DetachKeys: Buffer.from(config.detachKeys).toString("base64"),
    Pid: exec.pid,
  };
}
