export interface RecordsOptions {
  /**
   * How long after the engine's stream starts what is kept is first read:
   * `nerdctl events` subscribes a moment after it starts, and a change in
   * that moment would be missed. Reads go to nerdctl meanwhile.
   */
  subscribeGraceMs: number;
  now: () => number;
}

/** What the state keeps only while the engine's event stream runs, and forgets when it starts or ends. */
export abstract class Followed {
  /** Bumped when the stream starts or ends: a read begun before belongs to the past. */
  protected epoch = 0;
  #streamStartedAt: number | undefined;

  constructor(protected readonly options: RecordsOptions) {}

  streamStarted(): void {
    this.#restart();
    this.#streamStartedAt = this.options.now();
  }

  streamEnded(): void {
    this.#restart();
    this.#streamStartedAt = undefined;
  }

  /** Whether the stream has run long enough that nothing it missed can be kept. */
  protected get followed(): boolean {
    const startedAt = this.#streamStartedAt;
    return startedAt !== undefined && this.options.now() - startedAt >= this.options.subscribeGraceMs;
  }

  /** Drops everything kept: it may be wrong from now on. */
  protected abstract forget(): void;

  #restart(): void {
    this.epoch += 1;
    this.forget();
  }
}
