import { PassThrough, Readable, Writable } from "node:stream";
import { callKey, readFixtures, stdinBytes, stdoutBytes, type Fixture } from "./fixture.ts";
import {
  describeCommand,
  type Command,
  type CommandRunner,
  type ExitStatus,
  type InteractiveCommand,
  type InteractiveOptions,
  type RunResult,
  type RunningCommand,
} from "./types.ts";

/**
 * Thrown when a test makes a call no fixture recorded, or feeds a recorded
 * session other input than it was recorded with; names the nearest recorded call.
 */
export class FixtureMissError extends Error {
  constructor(
    readonly command: Command,
    readonly closest: Fixture | undefined,
    what = "no recorded fixture for",
  ) {
    super(
      `${what}: ${describeCommand(command)}` +
        (closest ? `\n  closest recorded: ${describeCommand(closest)}` : "\n  (no fixtures loaded)"),
    );
    this.name = "FixtureMissError";
  }
}

/**
 * Serves recorded output instead of running anything. Several recordings of
 * the same call are served in order (a scenario that changes state), the last
 * one repeating. Misses are kept so a test can assert there were none.
 * An interactive session prints its recorded output at once, and exits when it
 * has been given its recorded input (and its stdin closed, if it waited for that).
 */
export class ReplayRunner implements CommandRunner {
  readonly #queues = new Map<string, Fixture[]>();
  readonly fixtures: readonly Fixture[];
  readonly calls: Command[] = [];
  readonly misses: FixtureMissError[] = [];

  constructor(fixtures: Fixture[]) {
    this.fixtures = fixtures;
    for (const fixture of fixtures) {
      const key = callKey(fixture, fixture.session);
      const queue = this.#queues.get(key) ?? [];
      queue.push(fixture);
      this.#queues.set(key, queue);
    }
  }

  static async fromDirectory(dir: string): Promise<ReplayRunner> {
    return new ReplayRunner(await readFixtures(dir));
  }

  async run(command: Command): Promise<RunResult> {
    const { stdout, stderr, exitCode } = this.#take(command);
    return { stdout, stderr, exitCode };
  }

  spawn(command: Command): RunningCommand {
    const fixture = this.#take(command);
    const stdin = new PassThrough();
    stdin.resume();
    return {
      stdin,
      stdout: Readable.from([stdoutBytes(fixture)]),
      stderr: Readable.from([Buffer.from(fixture.stderr)]),
      exited: Promise.resolve({ stdout: "", stderr: fixture.stderr, exitCode: fixture.exitCode }),
      kill: () => {},
    };
  }

  interactive(command: Command, options: InteractiveOptions = {}): InteractiveCommand {
    const fixture = this.#take(command, { tty: options.tty !== undefined });
    const session = fixture.session!;
    const expected = stdinBytes(session);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.write(stdoutBytes(fixture));
    stderr.write(fixture.stderr);
    let given = Buffer.alloc(0);
    let closed = false;
    let settle: ((status: ExitStatus | FixtureMissError) => void) | undefined;
    const exited = new Promise<ExitStatus>((resolve, reject) => {
      settle = (status) => {
        settle = undefined;
        stdout.end();
        stderr.end();
        if (status instanceof FixtureMissError) reject(status);
        else resolve(status);
      };
    });
    const recorded: ExitStatus = { exitCode: fixture.exitCode, ...(session.signal ? { signal: session.signal } : {}) };
    const check = () => {
      if (!expected.subarray(0, given.length).equals(given) || (closed && given.length < expected.length)) {
        const miss = new FixtureMissError(
          command,
          fixture,
          `stdin ${JSON.stringify(given.toString())}${closed ? " (closed)" : ""} is not the recorded ${JSON.stringify(expected.toString())} of`,
        );
        this.misses.push(miss);
        settle?.(miss);
      } else if (given.length === expected.length && (closed || !session.stdinClosed)) settle?.(recorded);
    };
    const stdin = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // Once exited, input goes nowhere, as it would to a real child.
        if (settle) {
          given = Buffer.concat([given, chunk]);
          check();
        }
        done();
      },
      final(done) {
        if (settle) {
          closed = true;
          check();
        }
        done();
      },
    });
    check();
    const kill = () => settle?.({ exitCode: 137, signal: "SIGKILL" });
    return session.tty ? { tty: true, stdin, stdout, exited, kill, resize: () => {} } : { tty: false, stdin, stdout, stderr, exited, kill };
  }

  #take(command: Command, session?: { tty: boolean }): Fixture {
    this.calls.push(command);
    const queue = this.#queues.get(callKey(command, session));
    if (!queue?.length) {
      const what = session ? `no recorded ${session.tty ? "terminal" : "interactive"} session for` : undefined;
      const miss = new FixtureMissError(command, this.#closest(command), what);
      this.misses.push(miss);
      throw miss;
    }
    return queue.length > 1 ? queue.shift()! : queue[0]!;
  }

  #closest(command: Command): Fixture | undefined {
    const target = [command.program, ...command.args];
    let best: Fixture | undefined;
    let bestDistance = Infinity;
    for (const fixture of this.fixtures) {
      const distance = editDistance(target, [fixture.program, ...fixture.args]);
      if (distance < bestDistance) [best, bestDistance] = [fixture, distance];
    }
    return best;
  }
}

/** Levenshtein distance over words. */
function editDistance(a: readonly string[], b: readonly string[]): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
