import { randomBytes } from "node:crypto";
import { START_FAILED_EXIT_CODE, type ConsoleSize, type ExecConfig, type ExecState } from "../docker/exec.ts";
import { badParameter, conflict, notFound, systemError } from "../errors.ts";
import type { ExecOutcome } from "../nerdctl/exec.ts";
import type { InteractiveCommand } from "../runner/types.ts";

/*
 * Exec instances are the daemon's own state, as in dockerd: containerd knows
 * the processes, not the instances a client created, started and inspects.
 */

/** How long a resize waits for its instance to be started (dockerd's wait). */
const RESIZE_WAIT_MS = 10_000;

/** One exec instance: created, then running (attached or not), then ended with an exit code. */
export class ExecInstance {
  readonly id = randomBytes(32).toString("hex");
  #state: "created" | "running" | "ended" = "created";
  #exitCode: number | null = null;
  #endedAt: number | undefined;
  #child: InteractiveCommand | undefined;
  #hadProcess = false;
  readonly #started = signal();
  readonly #ended = signal();

  constructor(
    readonly namespace: string | undefined,
    readonly containerId: string,
    readonly config: ExecConfig,
    readonly createdAt: number,
  ) {}

  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  /** When it ended; undefined while it has not. */
  get endedAt(): number | undefined {
    return this.#endedAt;
  }

  get running(): boolean {
    return this.#state === "running";
  }

  /** dockerd's refusals to start an instance twice, in its words; otherwise it is running from now on. */
  claim(): void {
    if (this.#state === "ended") throw conflict(`Error: Exec command ${this.id} has already run`);
    if (this.#state === "running") throw conflict(`Error: Exec command ${this.id} is already running`);
    this.#state = "running";
  }

  /**
   * The process runs in `child`; its outcome is recorded the moment it is
   * known (before anything is told to the client), and the instance owns the
   * child from now on: it ends with the process, or when the instance is forgotten.
   */
  started(child: InteractiveCommand, outcome: Promise<ExecOutcome>, now: () => number): void {
    this.#child = child;
    this.#hadProcess = true;
    this.#started.resolve();
    void outcome.then((result) => this.#end(result.kind === "not-started" ? START_FAILED_EXIT_CODE : result.exitCode, now()));
  }

  /** The start failed before any process was there (dockerd's 126). */
  failed(now: number): void {
    this.#started.resolve();
    this.#end(START_FAILED_EXIT_CODE, now);
  }

  /** Resizes the process's terminal once it has one; nothing for a process without. */
  async resize(size: ConsoleSize): Promise<void> {
    const timeout = new Promise<"timeout">((resolve) => setTimeout(resolve, RESIZE_WAIT_MS, "timeout").unref());
    if ((await Promise.race([this.#started.promise, timeout])) === "timeout") throw systemError("timeout waiting for exec session ready");
    if (!this.#hadProcess) throw badParameter("exec process is not started");
    const child = this.#child;
    if (!child) throw notFound(`process does not exist ${this.id}: not found`);
    // A terminal's size is two 16-bit numbers, neither 0: any other changes nothing.
    const fits = (value: number) => value > 0 && value <= 0xffff;
    if (child.tty && fits(size.width) && fits(size.height)) child.resize(size.width, size.height);
  }

  /** Ends the process's nerdctl (the instance is forgotten, or its client is gone). */
  kill(): void {
    if (this.#state === "running") this.#child?.kill();
  }

  state(): ExecState {
    return {
      id: this.id,
      containerId: this.containerId,
      config: this.config,
      running: this.#state === "running",
      exitCode: this.#exitCode,
      canRemove: false,
      // nerdctl does not say which process it started, nor does anything tie containerd's exec-started event (which has the pid) to one nerdctl child.
      pid: 0,
    };
  }

  #end(exitCode: number, now: number): void {
    if (this.#state === "ended") return;
    this.#state = "ended";
    this.#exitCode = exitCode;
    this.#endedAt = now;
    this.#child = undefined;
    this.#ended.resolve();
  }
}

/** A promise settled from outside, once. */
function signal(): { promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve: () => resolve() };
}

export interface ExecRegistryOptions {
  /** Instances kept at most; beyond it the oldest that are not running go first. */
  maxInstances: number;
  /** An ended instance is forgotten this long after it ended (dockerd's clean-up runs every 5 minutes). */
  endedTtlMs: number;
  /** An instance never started is forgotten this long after it was created. */
  unstartedTtlMs: number;
  now: () => number;
}

const DEFAULTS: ExecRegistryOptions = {
  maxInstances: 1024,
  endedTtlMs: 5 * 60_000,
  unstartedTtlMs: 60 * 60_000,
  now: Date.now,
};

/** The daemon's exec instances, all namespaces together (their ids are global, as in dockerd). */
export class ExecRegistry {
  readonly #instances = new Map<string, ExecInstance>();
  readonly #options: ExecRegistryOptions;

  constructor(options: Partial<ExecRegistryOptions> = {}) {
    this.#options = { ...DEFAULTS, ...options };
  }

  get size(): number {
    return this.#instances.size;
  }

  now(): number {
    return this.#options.now();
  }

  add(namespace: string | undefined, containerId: string, config: ExecConfig): ExecInstance {
    this.#sweep();
    const instance = new ExecInstance(namespace, containerId, config, this.now());
    this.#instances.set(instance.id, instance);
    return instance;
  }

  /** The instance with exactly this id, if it was made in this namespace. */
  get(id: string, namespace: string | undefined): ExecInstance | undefined {
    const instance = this.#instances.get(id);
    return instance?.namespace === namespace ? instance : undefined;
  }

  /** Drops an instance (its container is gone); a process still running is no longer anyone's to wait for. */
  forget(instance: ExecInstance): void {
    instance.kill();
    this.#instances.delete(instance.id);
  }

  #sweep(): void {
    const now = this.now();
    for (const instance of this.#instances.values()) {
      const endedAt = instance.endedAt;
      const expired =
        endedAt !== undefined ? now - endedAt >= this.#options.endedTtlMs : !instance.running && now - instance.createdAt >= this.#options.unstartedTtlMs;
      if (expired) this.#instances.delete(instance.id);
    }
    // Oldest first (a Map keeps insertion order): running ones stay, they are bounded by their processes.
    for (const instance of this.#instances.values()) {
      if (this.#instances.size < this.#options.maxInstances) break;
      if (!instance.running) this.#instances.delete(instance.id);
    }
  }
}
