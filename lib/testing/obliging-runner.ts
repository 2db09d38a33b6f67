import { PassThrough, Readable } from "node:stream";
import { readFixtures, stdoutBytes, type Fixture } from "../runner/fixture.ts";
import type { Command, CommandRunner, ExitStatus, InteractiveCommand, RunResult, RunningCommand } from "../runner/types.ts";

/** A call's verb: its words before the first flag, nerdctl's `--namespace X` left out. */
function verbOf(command: Pick<Command, "program" | "args">): string {
  const args = [...command.args];
  if (args[0] === "--namespace") args.splice(0, 2);
  const end = args.findIndex((word) => word.startsWith("-"));
  return [command.program, ...args.slice(0, end === -1 ? args.length : end)].join(" ");
}

/** The words before `--` (the flags that pick what is printed), the namespace left out. */
function flagsOf(command: Pick<Command, "args">): string[] {
  const args = [...command.args];
  if (args[0] === "--namespace") args.splice(0, 2);
  const end = args.indexOf("--");
  return end === -1 ? args : args.slice(0, end);
}

/**
 * An engine that goes along with anything: every call is answered with the
 * recorded output of the most alike successful recorded call of the same verb
 * (an empty success when none was recorded), so a request runs as far into the
 * daemon as a real engine would let it. It never fails a call. Every call is kept.
 */
export class ObligingRunner implements CommandRunner {
  readonly calls: Command[] = [];
  /** Everything it printed: the paths the engine names are the engine's, not a client's. */
  readonly printed: string[] = [];
  readonly #byVerb = new Map<string, Fixture[]>();

  constructor(fixtures: readonly Fixture[]) {
    for (const fixture of fixtures) {
      if (fixture.exitCode !== 0 || fixture.session) continue;
      const verb = verbOf(fixture);
      this.#byVerb.set(verb, [...(this.#byVerb.get(verb) ?? []), fixture]);
    }
  }

  static async fromDirectory(dir: string): Promise<ObligingRunner> {
    return new ObligingRunner(await readFixtures(dir));
  }

  run(command: Command): Promise<RunResult> {
    const answer = this.#answer(command);
    return Promise.resolve({ stdout: stdoutBytes(answer).toString(), stderr: answer.stderr, exitCode: 0 });
  }

  spawn(command: Command): RunningCommand {
    const answer = this.#answer(command);
    const stdin = new PassThrough();
    stdin.resume();
    return {
      stdin,
      stdout: Readable.from([stdoutBytes(answer)]),
      stderr: Readable.from([Buffer.from(answer.stderr)]),
      exited: Promise.resolve({ stdout: "", stderr: answer.stderr, exitCode: 0 }),
      kill: () => {},
    };
  }

  /** A session that prints nothing and exits at once, as `true` would. */
  interactive(command: Command): InteractiveCommand {
    this.calls.push(command);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = new PassThrough();
    stdin.resume();
    stdout.end();
    stderr.end();
    const exited = Promise.resolve<ExitStatus>({ exitCode: 0 });
    return { tty: false, stdin, stdout, stderr, exited, kill: () => {} };
  }

  #answer(command: Command): Fixture {
    this.calls.push(command);
    const candidates = this.#byVerb.get(verbOf(command)) ?? [];
    const flags = flagsOf(command);
    let best: Fixture | undefined;
    let bestScore = -1;
    for (const fixture of candidates) {
      const recorded = flagsOf(fixture);
      const score = flags.filter((word) => recorded.includes(word)).length - recorded.filter((word) => !flags.includes(word)).length / 100;
      if (score > bestScore) [best, bestScore] = [fixture, score];
    }
    const answer = best ?? { program: command.program, args: [...command.args], versions: {}, stdout: "", stderr: "", exitCode: 0 };
    this.printed.push(answer.stdout);
    return answer;
  }
}
