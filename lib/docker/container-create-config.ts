import { badParameter, describeValue } from "../errors.ts";
import { integer, keyValues, stringMap, strings, text, type CreateFlags } from "./container-create-builder.ts";
import type { ContainerCreateRequest, HealthConfig } from "./container-create-types.ts";
import { RECORD_LABEL_PREFIX } from "./container-create-record.ts";

/* The container's own configuration (Config): process, environment, identity, health. */

/** Docker's StrSlice: a list of strings, or one string meaning a list of one. */
function strSlice(field: string, value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? [value] : strings(field, value);
}

/** What runs: the command after the image, and the entrypoint words that replace the image's. */
export function processArgs(request: ContainerCreateRequest): { command: string[]; entrypoint?: string[] } {
  const cmd = strSlice("Cmd", request.Cmd) ?? [];
  const entrypoint = strSlice("Entrypoint", request.Entrypoint);
  // An empty list is no entrypoint at all: the image's stays, as dockerd merges it.
  if (entrypoint === null || entrypoint.length === 0) return { command: cmd };
  if (entrypoint.length === 1 && entrypoint[0] === "") {
    // [""] resets the image's entrypoint: the command alone runs, its first word as the program.
    if (cmd.length === 0) throw badParameter("No command specified");
    return { entrypoint: [cmd[0]!], command: cmd.slice(1) };
  }
  return { entrypoint, command: cmd };
}

/** Go's duration for nanoseconds, as nerdctl's duration flags read it. */
const duration = (nanoseconds: number) => `${nanoseconds}ns`;

const MINIMUM_DURATION = 1_000_000;

/** One word per argument, quoted for the shell that runs a health check's command. */
function shellWords(words: string[]): string {
  return words.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
}

function healthcheck(flags: CreateFlags, health: HealthConfig | null | undefined): void {
  if (!health) return;
  const test = strings("Healthcheck.Test", health.Test);
  for (const key of ["Interval", "Timeout", "StartPeriod"] as const) {
    const value = integer(`Healthcheck.${key}`, health[key]);
    if (value !== 0 && value < MINIMUM_DURATION) throw badParameter(`${key} in Healthcheck cannot be less than 1ms`);
  }
  const retries = integer("Healthcheck.Retries", health.Retries);
  if (retries < 0) throw badParameter("Retries in Healthcheck cannot be negative");
  switch (test[0]) {
    case undefined:
      break;
    case "NONE":
      flags.on("no-healthcheck");
      return;
    case "CMD-SHELL":
      if (test.length !== 2) throw badParameter("Healthcheck.Test: CMD-SHELL takes exactly one command string");
      flags.set("health-cmd", test[1]!);
      break;
    case "CMD":
      // nerdctl runs a check through the shell only: each argument quoted keeps it one word.
      if (test.length < 2) throw badParameter("Healthcheck.Test: CMD needs a command");
      flags.set("health-cmd", shellWords(test.slice(1)));
      break;
    default:
      throw badParameter(`Healthcheck.Test must start with NONE, CMD or CMD-SHELL, not ${describeValue(test[0])}`);
  }
  if (health.Interval) flags.set("health-interval", duration(health.Interval));
  if (health.Timeout) flags.set("health-timeout", duration(health.Timeout));
  if (health.StartPeriod) flags.set("health-start-period", duration(health.StartPeriod));
  if (retries) flags.set("health-retries", retries);
}

/** Signal names and numbers as dockerd's signal.ParseSignal accepts them. */
const SIGNAL = /^(?:SIG)?(?:[A-Z][A-Z0-9]*(?:[+-]\d+)?)$|^\d+$/;

function stopSignal(value: string): string {
  if (!SIGNAL.test(value) || (/^\d+$/.test(value) && (Number(value) < 1 || Number(value) > 64))) {
    throw badParameter(`Invalid signal: ${value}`);
  }
  return value;
}

const reserved = (key: string) => key.startsWith("nerdctl/") || key.startsWith(RECORD_LABEL_PREFIX);

/**
 * The container's labels: the image's, then the client's over them, as
 * dockerd merges them (nerdctl keeps only the client's). Labels nerdctl and
 * nerdctld keep for themselves cannot be set by a client, nor come from an image.
 */
function containerLabels(labels: Record<string, string>, image: Record<string, string>): string[] {
  for (const key of Object.keys(labels)) {
    if (reserved(key)) throw badParameter(`label ${describeValue(key)} is reserved for the engine`);
  }
  const inherited = Object.entries(image).filter(([key]) => key !== "" && !key.includes("=") && !reserved(key));
  return keyValues("Labels", { ...Object.fromEntries(inherited), ...labels });
}

/**
 * Environment entries. One without `=` names a variable of the client's
 * environment that the client did not have; nerdctl would fill it from its
 * own environment, so it is left out (it sets nothing under dockerd either).
 */
function environment(env: string[]): string[] {
  for (const entry of env) {
    if (entry === "" || entry.startsWith("=")) throw badParameter(`invalid environment variable: ${entry}`);
  }
  return env.filter((entry) => entry.includes("="));
}

export function translateConfig(request: ContainerCreateRequest, flags: CreateFlags): void {
  const hostname = text("Hostname", request.Hostname);
  if (hostname) flags.set("hostname", hostname);
  const domainname = text("Domainname", request.Domainname);
  if (domainname) flags.set("domainname", domainname);
  const user = text("User", request.User);
  if (user) flags.set("user", user);
  const workdir = text("WorkingDir", request.WorkingDir);
  if (workdir) {
    if (!workdir.startsWith("/")) throw badParameter(`the working directory '${workdir}' is invalid, it needs to be an absolute path`);
    flags.set("workdir", workdir);
  }
  flags.on("tty", request.Tty === true);
  flags.repeat("env", environment(strings("Env", request.Env)));
  flags.repeat("label", containerLabels(stringMap("Labels", request.Labels), flags.image.labels));
  const signal = text("StopSignal", request.StopSignal);
  if (signal) flags.set("stop-signal", stopSignal(signal));
  const timeout = integer("StopTimeout", request.StopTimeout);
  if (timeout) flags.set("stop-timeout", timeout);
  healthcheck(flags, request.Healthcheck);
}
