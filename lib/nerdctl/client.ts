import { type ErrorSubject } from "../errors.ts";
import { errorFromStderr } from "./errors.ts";
import { freshReads } from "../runner/coalescing.ts";
import type { Command, CommandRunner, Program, RunOptions } from "../runner/types.ts";

export interface NerdctlOptions {
  /** containerd namespace; when unset, nerdctl's own configuration decides. */
  namespace?: string;
  /**
   * What `--init` runs as the container's PID 1 (a path, or a name on PATH);
   * unset is nerdctl's own choice, a `tini` looked up on PATH.
   */
  initBinary?: string;
  /** The API request the calls serve: their log records carry its id. */
  requestId?: string;
}

/**
 * Builds nerdctl invocations for one namespace and turns failures into Docker
 * errors. Operation functions (system.ts, images.ts, …) take one of these.
 */
export class Nerdctl {
  constructor(
    readonly runner: CommandRunner,
    readonly options: NerdctlOptions = {},
  ) {}

  /** The same engine seen through another namespace (a per-request override). */
  withNamespace(namespace: string): Nerdctl {
    return new Nerdctl(this.runner, { ...this.options, namespace });
  }

  /** The same engine, its calls logged as serving `requestId` (undefined: the daemon's own work). */
  forRequest(requestId: string | undefined): Nerdctl {
    return new Nerdctl(this.runner, { ...this.options, requestId });
  }

  /** The same engine, its reads never sharing a child already running (see freshReads). */
  withFreshReads(): Nerdctl {
    return new Nerdctl(freshReads(this.runner), this.options);
  }

  command(args: readonly string[], program: Program = "nerdctl"): Command {
    const inNamespace = program === "nerdctl" && this.options.namespace ? ["--namespace", this.options.namespace, ...args] : args;
    const { requestId } = this.options;
    return requestId === undefined ? { program, args: inNamespace } : { program, args: inNamespace, requestId };
  }

  /** containerd's own client in the same namespace, for what nerdctl cannot do. */
  ctrCommand(args: readonly string[]): Command {
    return this.command([...(this.options.namespace ? [`--namespace=${this.options.namespace}`] : []), ...args], "ctr");
  }

  /** Runs and returns stdout; a non-zero exit becomes the matching Docker error. */
  async output(args: readonly string[], subject: ErrorSubject = {}, options?: RunOptions): Promise<string> {
    const result = await this.runner.run(this.command(args), options);
    if (result.exitCode !== 0) throw errorFromStderr(result.stderr, subject);
    return result.stdout;
  }

  /** Runs a read printing one JSON document. */
  async json<T>(args: readonly string[], subject: ErrorSubject = {}): Promise<T> {
    return JSON.parse(await this.output(args, subject, { shared: true })) as T;
  }

  /** Runs a read printing one JSON document per line. */
  async jsonLines<T>(args: readonly string[], subject: ErrorSubject = {}): Promise<T[]> {
    const stdout = await this.output(args, subject, { shared: true });
    return stdout
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as T);
  }
}

/** nerdctl's Go template that prints the value as JSON. */
export const JSON_FORMAT = "{{json .}}";
