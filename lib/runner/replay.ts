import { PassThrough, Readable } from "node:stream";
import { commandKey, readFixtures, stdoutBytes, type Fixture } from "./fixture.ts";
import { describeCommand, type Command, type CommandRunner, type RunResult, type RunningCommand } from "./types.ts";

/** Thrown when a test makes a call no fixture recorded; names the nearest recorded call. */
export class FixtureMissError extends Error {
  constructor(
    readonly command: Command,
    readonly closest: Fixture | undefined,
  ) {
    super(
      `no recorded fixture for: ${describeCommand(command)}` +
        (closest ? `\n  closest recorded: ${describeCommand(closest)}` : "\n  (no fixtures loaded)"),
    );
    this.name = "FixtureMissError";
  }
}

/**
 * Serves recorded output instead of running anything. Several recordings of
 * the same call are served in order (a scenario that changes state), the last
 * one repeating. Misses are kept so a test can assert there were none.
 */
export class ReplayRunner implements CommandRunner {
  readonly #queues = new Map<string, Fixture[]>();
  readonly fixtures: readonly Fixture[];
  readonly calls: Command[] = [];
  readonly misses: FixtureMissError[] = [];

  constructor(fixtures: Fixture[]) {
    this.fixtures = fixtures;
    for (const fixture of fixtures) {
      const key = commandKey(fixture);
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

  #take(command: Command): Fixture {
    this.calls.push(command);
    const queue = this.#queues.get(commandKey(command));
    if (!queue?.length) {
      const miss = new FixtureMissError(command, this.#closest(command));
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
