import { Readable } from "node:stream";
import { lineSince, subSecondSince, type LogsRequest } from "../docker/logs.ts";
import { readLines } from "../io/lines.ts";
import { multiplex, STDERR, STDOUT } from "../docker/stdcopy.ts";
import { hasTerminal, streamLogs } from "../nerdctl/logs.ts";
import type { Scope } from "./scope.ts";

/** A container's output as it is produced: stdcopy frames unless it has a terminal. */
export interface ContainerOutput {
  stream: Readable;
  framed: boolean;
  /** Ends the child (the client went away). */
  stop(): void;
}

async function* linesSince(source: Readable, since: bigint, keepTimestamps: boolean): AsyncGenerator<Buffer> {
  for await (const line of readLines(source)) {
    const kept = lineSince(line, since, keepTimestamps);
    if (kept !== undefined) yield Buffer.from(`${kept}\n`);
  }
}

/** GET /containers/{id}/logs: streams (`follow` included) until the child ends or `signal` aborts. */
export async function containerLogs(scope: Scope, ref: string, request: LogsRequest, signal: AbortSignal): Promise<ContainerOutput> {
  // Asked first: a missing container is a 404 before any stream starts, and a terminal means no frames.
  const framed = !(await hasTerminal(scope.nerdctl, ref));
  // nerdctl cuts `since` to the second: a finer bound is kept here, by each line's timestamp.
  const since = subSecondSince(request.options.since);
  const child = streamLogs(scope.nerdctl, ref, since === undefined ? request.options : { ...request.options, timestamps: true }, signal);
  const bounded = (readable: Readable) => (since === undefined ? readable : Readable.from(linesSince(readable, since, request.options.timestamps)));
  const stream = multiplex(
    [
      { stream: STDOUT, readable: bounded(child.stdout), wanted: request.stdout },
      { stream: STDERR, readable: bounded(child.stderr), wanted: request.stderr },
    ],
    framed,
  );
  return { stream, framed, stop: () => child.kill() };
}
