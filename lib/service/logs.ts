import type { Readable } from "node:stream";
import type { LogsRequest } from "../docker/logs.ts";
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

/** GET /containers/{id}/logs: streams (`follow` included) until the child ends or `signal` aborts. */
export async function containerLogs(scope: Scope, ref: string, request: LogsRequest, signal: AbortSignal): Promise<ContainerOutput> {
  // Asked first: a missing container is a 404 before any stream starts, and a terminal means no frames.
  const framed = !(await hasTerminal(scope.nerdctl, ref));
  const child = streamLogs(scope.nerdctl, ref, request.options, signal);
  const stream = multiplex(
    [
      { stream: STDOUT, readable: child.stdout, wanted: request.stdout },
      { stream: STDERR, readable: child.stderr, wanted: request.stderr },
    ],
    framed,
  );
  return { stream, framed, stop: () => child.kill() };
}
