import { Writable, type Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { fixtureFileName, Normalizer, storedBytes, writeFixture, type Fixture } from "./fixture.ts";
import type { Command, CommandRunner, InteractiveCommand, InteractiveOptions, RunOptions, RunResult, RunningCommand } from "./types.ts";

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
    const stdout = capture(child.stdout);
    const exited = child.exited.then(async (result) => {
      await this.#save(command, result, stdout());
      return result;
    });
    return { ...child, exited };
  }

  /** Records what the caller writes to the child's stdin up to its exit, and all it prints. */
  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand {
    const child = this.inner.interactive(command, options);
    const given: Buffer[] = [];
    let running = true;
    let stdinClosed = false;
    const stdin = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (running) given.push(chunk);
        child.stdin.write(chunk, () => done());
      },
      final(done) {
        stdinClosed ||= running;
        child.stdin.end();
        done();
      },
    });
    const stdout = capture(child.stdout);
    const stderr = child.tty ? undefined : capture(child.stderr);
    const exited = child.exited.then(async (status) => {
      running = false;
      // All output read, not just printed: the exit can come before the caller has taken it.
      await Promise.all([child.stdout, ...(child.tty ? [] : [child.stderr])].map((stream) => finished(stream).catch(() => {})));
      const input = storedBytes(Buffer.concat(given));
      const n = this.normalizer;
      await this.#save(command, { stdout: "", stderr: stderr?.().bytes.toString() ?? "", exitCode: status.exitCode }, stdout(), {
        session: {
          tty: child.tty,
          stdin: input.base64 ? input.text : n.text(input.text),
          ...(input.base64 ? { stdinBase64: true } : {}),
          stdinClosed,
          ...(status.signal ? { signal: status.signal } : {}),
        },
      });
      return status;
    });
    return { ...child, stdin, exited };
  }

  /** stdout, when given, is the bytes a streaming call printed, in place of result.stdout. */
  async #save(command: Command, result: RunResult, stdout?: Captured, extra: Pick<Fixture, "session"> = {}): Promise<void> {
    const n = this.normalizer;
    const printed = stdout ? storedBytes(stdout.bytes) : { text: result.stdout, base64: false };
    const fixture: Fixture = {
      program: command.program,
      args: command.args.map((arg) => n.text(arg)),
      ...extra,
      stdout: printed.base64 ? printed.text : n.text(printed.text),
      ...(printed.base64 ? { stdoutBase64: true } : {}),
      ...(stdout?.truncated ? { truncated: true } : {}),
      stderr: n.text(result.stderr),
      exitCode: result.exitCode,
      versions: this.versions,
    };
    this.recorded.push(fixture);
    this.#count += 1;
    await writeFixture(this.dir, fixtureFileName(this.#count, { program: fixture.program, args: fixture.args }), fixture);
  }
}

interface Captured {
  bytes: Buffer;
  truncated: boolean;
}

/** Keeps the first MAX_RECORDED_STREAM bytes of a stream the caller reads (listening from before it does). */
function capture(stream: Readable): () => Captured {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on("data", (chunk: Buffer) => {
    if (size < MAX_RECORDED_STREAM) chunks.push(Buffer.from(chunk));
    size += chunk.length;
  });
  return () => ({ bytes: Buffer.concat(chunks).subarray(0, MAX_RECORDED_STREAM), truncated: size > MAX_RECORDED_STREAM });
}
