import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import type { Command, CommandRunner, RunResult } from "../runner/types.ts";

/** An engine of containers in memory, answering the nerdctl calls the state makes, and counting them. */
export class MemoryEngine implements CommandRunner {
  readonly containers = new Map<string, NerdctlContainerInspect>();
  readonly calls: string[][] = [];
  /** Holds every call until released (a call in flight while more changes come): it answers with the engine as it was when it began. */
  gate: Promise<void> | undefined;

  /** Holds every call from now on until the returned function releases them. */
  hold(): () => void {
    let release = () => {};
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      release();
      this.gate = undefined;
    };
  }

  put(id: string, name: string, status = "running"): void {
    this.containers.set(id, { Id: id, Name: name, Image: "busybox", State: { Status: status }, Config: { Labels: {} } } as unknown as NerdctlContainerInspect);
  }

  async run(command: Command): Promise<RunResult> {
    this.calls.push([...command.args]);
    const answer = this.#answer(command);
    await this.gate;
    return answer;
  }

  #answer(command: Command): RunResult {
    const [verb] = command.args;
    if (verb === "ps") return { stdout: [...this.containers.keys()].join("\n"), stderr: "", exitCode: 0 };
    const ids = command.args.slice(command.args.indexOf("--") + 1);
    const missing = ids.filter((id) => !this.containers.has(id));
    if (missing.length > 0) return { stdout: "", stderr: missing.map((id) => `no such container: ${id}`).join("\n"), exitCode: 1 };
    return { stdout: JSON.stringify(ids.map((id) => this.containers.get(id))), stderr: "", exitCode: 0 };
  }

  spawn(): never {
    throw new Error("not used");
  }

  interactive(): never {
    throw new Error("not used");
  }
}
