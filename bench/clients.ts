/**
 * The three ways a user reaches an engine, for the benchmarks that time whole
 * commands: the docker CLI through nerdctld, plain nerdctl on nerdctld's
 * engine, and the same docker CLI through dockerd.
 */
import { open } from "node:fs/promises";
import { execa } from "execa";
import { combineRounds, dockerEnv, type ComparedPaths, type TransferCell, type WatchedDaemon } from "./transfer.ts";

export const CLIENT_PATHS = ["nerdctld", "nerdctl", "dockerd"] as const;
export type ClientPath = (typeof CLIENT_PATHS)[number];

/** A path as a user drives it: the program typed, how it reaches its engine, the daemon in between. */
export interface Client {
  path: ClientPath;
  command: string;
  env: Record<string, string>;
  daemon: WatchedDaemon | null;
}

export interface ClientsPlan extends ComparedPaths {
  nerdctld: { dockerHost: string; daemon: WatchedDaemon };
}

/** The paths in their first round's order; dockerd only where there is one. */
export function clientsOf(plan: ClientsPlan): Client[] {
  const clients: Client[] = [
    { path: "nerdctld", command: plan.dockerCli, env: dockerEnv(plan.nerdctld.dockerHost), daemon: plan.nerdctld.daemon },
    { path: "nerdctl", command: plan.nerdctl.path, env: plan.nerdctl.env, daemon: null },
  ];
  if (plan.dockerd) clients.push({ path: "dockerd", command: plan.dockerCli, env: dockerEnv(plan.dockerd.dockerHost), daemon: plan.dockerd.daemon });
  return clients;
}

/** The clients in the order of a round: one later each round, so that drift and the order itself hit all of them alike. */
export function turn(clients: Client[], round: number): Client[] {
  const shift = round % clients.length;
  return [...clients.slice(shift), ...clients.slice(0, shift)];
}

/** An untimed command of a client (setting up, checking, cleaning up); throws with its stderr when it fails. */
export async function plumb(client: Client, args: string[], options: { mayFail?: boolean } = {}): Promise<string> {
  const result = await execa(client.command, args, { env: client.env, reject: false, stdin: "ignore", timeout: 10 * 60_000 });
  if (result.exitCode !== 0 && !options.mayFail) throw new Error(`${client.path}: ${args.join(" ")}: ${String(result.stderr).trim().slice(-300)}`);
  return String(result.stdout);
}

/** One cell per operation and path: the median round of the rounds so far, every round's time kept. */
export class Samples<Operation extends string> {
  readonly #cells = new Map<string, { operation: Operation; path: ClientPath; cells: TransferCell[] }>();

  add(operation: Operation, path: ClientPath, cell: TransferCell): void {
    const key = `${operation}\t${path}`;
    const entry = this.#cells.get(key) ?? { operation, path, cells: [] };
    entry.cells.push(cell);
    this.#cells.set(key, entry);
  }

  rows(): { operation: Operation; path: ClientPath; cell: TransferCell }[] {
    return [...this.#cells.values()].map(({ operation, path, cells }) => ({ operation, path, cell: combineRounds(cells) }));
  }
}

export function describeCell(cell: TransferCell): string {
  return cell.kind === "measured" ? `${cell.seconds.toFixed(2)} s` : `${cell.kind}${cell.kind === "failed" ? `: ${cell.message}` : ""}`;
}

/** What a file gained after `offset`: the lines nerdctld's log got meanwhile. */
export async function readFrom(path: string, offset: number): Promise<string> {
  const handle = await open(path, "r");
  try {
    const length = (await handle.stat()).size - offset;
    const buffer = Buffer.alloc(Math.max(0, length));
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

/** The nerdctl calls a stretch of nerdctld's --debug log shows, each as the log words it (a call's line is written when it ends). */
export function nerdctlCallLines(logText: string): string[] {
  return logText
    .split("\n")
    .filter((line) => / nerdctld: exec /.test(line))
    .map((line) => line.replace(/^.* nerdctld: exec /, ""));
}

export function nerdctlCalls(logText: string): number {
  return nerdctlCallLines(logText).length;
}
