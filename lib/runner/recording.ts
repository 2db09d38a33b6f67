import { fixtureFileName, Normalizer, writeFixture, type Fixture } from "./fixture.ts";
import type { Command, CommandRunner, RunOptions, RunResult, RunningCommand } from "./types.ts";

/** Streamed output kept per call: enough to replay its start, never a whole image. */
const MAX_RECORDED_STREAM = 1024 * 1024;

/**
 * Wraps a runner and writes every call it makes to a fixture file, normalised,
 * numbered in call order within `dir`.
 */
export class RecordingRunner implements CommandRunner {
  #count = 0;
  readonly recorded: Fixture[] = [];

  constructor(
    private readonly inner: CommandRunner,
    private readonly dir: string,
    private readonly versions: Record<string, string>,
    readonly normalizer: Normalizer = new Normalizer(),
  ) {}

  async run(command: Command, options?: RunOptions): Promise<RunResult> {
    const result = await this.inner.run(command, options);
    await this.#save(command, result);
    return result;
  }

  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
    const child = this.inner.spawn(command, options);
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      if (size < MAX_RECORDED_STREAM) chunks.push(Buffer.from(chunk));
      size += chunk.length;
    });
    const exited = child.exited.then(async (result) => {
      const bytes = Buffer.concat(chunks).subarray(0, MAX_RECORDED_STREAM);
      const text = bytes.toString("utf8");
      const binary = !Buffer.from(text, "utf8").equals(bytes);
      await this.#save(
        command,
        { ...result, stdout: binary ? bytes.toString("base64") : text },
        { ...(binary ? { stdoutBase64: true } : {}), ...(size > MAX_RECORDED_STREAM ? { truncated: true } : {}) },
      );
      return result;
    });
    return { ...child, exited };
  }

  async #save(command: Command, result: RunResult, extra: Pick<Fixture, "stdoutBase64" | "truncated"> = {}): Promise<void> {
    const n = this.normalizer;
    const fixture: Fixture = {
      program: command.program,
      args: command.args.map((arg) => n.text(arg)),
      stdout: extra.stdoutBase64 ? result.stdout : n.text(result.stdout),
      ...extra,
      stderr: n.text(result.stderr),
      exitCode: result.exitCode,
      versions: this.versions,
    };
    this.recorded.push(fixture);
    this.#count += 1;
    await writeFixture(this.dir, fixtureFileName(this.#count, { program: fixture.program, args: fixture.args }), fixture);
  }
}
