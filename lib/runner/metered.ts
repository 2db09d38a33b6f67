import type { Command, CommandRunner, InteractiveCommand, InteractiveOptions, Program, RunOptions, RunResult, RunningCommand } from "./types.ts";

/** One finished engine call, for the daemon's metrics. */
export interface EngineCall {
  program: Program;
  /** What the call did: `container inspect`, `pull`, `task start`; empty for programs without verbs. */
  verb: string;
  seconds: number;
  exitCode: number;
}

/** nerdctl's and ctr's command groups, whose verb is two words. */
const GROUPS = new Set(["container", "image", "volume", "network", "system", "builder", "namespace", "task", "snapshots", "content", "containers", "images"]);

/** Programs whose first word is a verb of a fixed set (nerdctld's own argv); others run user-shaped argv. */
const WITH_VERBS = new Set<Program>(["nerdctl", "ctr", "buildctl"]);

/**
 * The verb of a command: its first words after the global flags and before
 * `--`. These come from nerdctld's argv builders, never from a client, so
 * they are a small fixed set.
 */
export function commandVerb(command: Command): string {
  if (!WITH_VERBS.has(command.program)) return "";
  const words: string[] = [];
  const args = command.args;
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const word = args[i]!;
    if (word === "--") break;
    if (word.startsWith("-")) {
      // nerdctl's one global flag with a separate value (Nerdctl.command): skip its value too.
      if (word === "--namespace" && words.length === 0) i += 1;
      if (words.length > 0) break;
      continue;
    }
    words.push(word);
    if (!GROUPS.has(word)) break;
  }
  return words.join(" ");
}

/** Reports every engine call when it ends: how long its child ran and how it exited. */
export class MeteredRunner implements CommandRunner {
  constructor(
    private readonly inner: CommandRunner,
    private readonly observe: (call: EngineCall) => void,
  ) {}

  async run(command: Command, options?: RunOptions): Promise<RunResult> {
    const done = this.#started(command);
    const result = await this.inner.run(command, options);
    done(result.exitCode);
    return result;
  }

  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
    const done = this.#started(command);
    const child = this.inner.spawn(command, options);
    child.exited.then((result) => done(result.exitCode), () => {});
    return child;
  }

  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand {
    const done = this.#started(command);
    const child = this.inner.interactive(command, options);
    child.exited.then((result) => done(result.exitCode), () => {});
    return child;
  }

  #started(command: Command): (exitCode: number) => void {
    const started = performance.now();
    return (exitCode) =>
      this.observe({ program: command.program, verb: commandVerb(command), seconds: (performance.now() - started) / 1000, exitCode });
  }
}
