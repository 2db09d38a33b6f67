import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { DEFAULT_DETACH_KEYS, DetachScanner } from "../docker/exec-detach.ts";
import { startFailure, type ConsoleSize } from "../docker/exec.ts";
import { frame, multiplex, STDERR, STDOUT, type MultiplexSource } from "../docker/stdcopy.ts";
import type { ClientConnection } from "../io/connection.ts";
import { relayInto } from "../io/pipe.ts";
import { whenClientGone } from "../io/signals.ts";
import { ExecTrailer, startExec, type ExecOutcome } from "../nerdctl/exec.ts";
import type { InteractiveCommand } from "../runner/types.ts";
import type { ExecInstance, ExecRegistry } from "./exec-registry.ts";
import type { Scope } from "./scope.ts";

/** The terminal size when neither the create nor the start gave one. */
const DEFAULT_SIZE: ConsoleSize = { height: 24, width: 80 };

/** A started instance's process, its output as the exec shows it, and how it ends. */
export interface Launched {
  child: InteractiveCommand;
  /** stdout, and stderr apart over pipes; nerdctl's own last line left out. */
  streams: MultiplexSource[];
  outcome: Promise<ExecOutcome>;
}

/**
 * Starts an instance's process with `nerdctl exec`: claims the instance (a
 * second start is dockerd's 409), and hands it the child, which it owns from
 * then on. `attached`: the client's input reaches the process (-i), if the
 * instance asked for stdin.
 */
export function launch(scope: Scope, registry: ExecRegistry, instance: ExecInstance, size: ConsoleSize | undefined, attached: boolean): Launched {
  const { config } = instance;
  instance.claim();
  let child: InteractiveCommand;
  try {
    const terminal = size ?? config.consoleSize ?? DEFAULT_SIZE;
    child = startExec(
      scope.nerdctl,
      {
        container: instance.containerId,
        command: [config.entrypoint, ...config.arguments],
        interactive: attached && config.openStdin,
        tty: config.tty,
        privileged: config.privileged,
        user: config.requestedUser || undefined,
        workdir: config.workingDir || undefined,
        env: config.env,
      },
      { columns: terminal.width || DEFAULT_SIZE.width, rows: terminal.height || DEFAULT_SIZE.height },
    );
  } catch (error) {
    instance.failed(registry.now());
    throw error;
  }
  const trailer = new ExecTrailer(child.exited, child.tty);
  const streams: MultiplexSource[] = child.tty
    ? [{ stream: STDOUT, readable: child.stdout.pipe(trailer), wanted: config.openStdout }]
    : [
        { stream: STDOUT, readable: child.stdout, wanted: config.openStdout },
        { stream: STDERR, readable: child.stderr.pipe(trailer), wanted: config.openStderr },
      ];
  instance.started(child, trailer.outcome, () => registry.now());
  return { child, streams, outcome: trailer.outcome };
}

/**
 * Runs a started exec over the client's connection until the process ends or
 * the client detaches. Output: stdcopy frames unless the client reads a
 * terminal's bytes (`rawOutput`). A client that is gone has the process's
 * nerdctl killed at once; a client that detaches (its detach keys, or the end
 * of its input at a terminal, as dockerd has it) leaves the process running,
 * its output read and dropped, and its end still recorded.
 */
export async function runAttached(instance: ExecInstance, start: () => Launched, rawOutput: boolean, connection: ClientConnection): Promise<void> {
  const say = (text: string) => connection.output.write(rawOutput ? Buffer.from(text) : frame(STDOUT, Buffer.from(text)));
  let launched: Launched;
  try {
    launched = start();
  } catch (error) {
    // After the takeover, dockerd writes what went wrong into the stream.
    say(`${error instanceof Error ? error.message : String(error)}\r\n`);
    return;
  }
  const { child, streams, outcome } = launched;
  const output = multiplex(streams, !rawOutput, { split: true });
  const stopRelay = relayInto(output, connection.output);
  let detach = () => {};
  const detached = new Promise<"detached">((resolve) => (detach = () => resolve("detached")));
  const stopInput = instance.config.openStdin ? relay(connection.input, child, instance.config.detachKeys, detach) : () => {};
  const stopWatching = whenClientGone(connection.gone, () => {
    child.kill();
    stopRelay();
  });
  const ended = Promise.all([finished(output), instance.ended]).then(() => "ended" as const);
  const how = await Promise.race([ended, detached]);
  stopInput();
  stopWatching();
  if (how === "detached") {
    stopRelay();
    return;
  }
  // The exit code is recorded by now: the client reads it as soon as the stream closes.
  const result = await outcome;
  if (result.kind === "not-started") say(`${startFailure(result.message, instance.config.requestedUser).message}\r\n`);
}

/**
 * Relays what the client types into the process, as fast as the process
 * takes it. At a terminal it watches for the detach keys, and the end of the
 * input detaches too; over pipes the end of the input is the process's
 * end of input. Returns a function that stops relaying.
 */
function relay(input: Readable, child: InteractiveCommand, keys: Uint8Array, detach: () => void): () => void {
  const scanner = child.tty ? new DetachScanner(keys.length > 0 ? keys : DEFAULT_DETACH_KEYS) : undefined;
  const resume = () => input.resume();
  const onData = (chunk: Buffer) => {
    const { pass, detached } = scanner ? scanner.push(chunk) : { pass: chunk, detached: false };
    if (pass.length > 0 && !child.stdin.write(pass)) {
      input.pause();
      child.stdin.once("drain", resume);
    }
    if (detached) detach();
  };
  const onEnd = () => (child.tty ? detach() : child.stdin.end());
  input.on("data", onData).once("end", onEnd);
  return () => {
    input.off("data", onData).off("end", onEnd);
    child.stdin.off("drain", resume);
  };
}
