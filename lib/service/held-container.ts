import type { Readable } from "node:stream";
import { DEFAULT_DETACH_KEYS, DetachScanner } from "../docker/exec-detach.ts";
import { frame, STDERR, STDOUT } from "../docker/stdcopy.ts";
import type { ClientConnection } from "../io/connection.ts";
import { separateNerdctlLogs } from "../nerdctl/container-lifecycle.ts";
import type { ExitStatus, InteractiveCommand } from "../runner/types.ts";

/*
 * The stdio of a container nerdctld started attached: one child holds it for
 * as long as the task runs, and any number of clients read its output and
 * type into it, joining and leaving as they like (docker attach, as dockerd
 * serves it).
 */

type StreamNumber = typeof STDOUT | typeof STDERR;

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Bytes that detach this client (the container keeps running); empty for Docker's default. */
  detachKeys: Uint8Array;
}

/** One client attached: its connection, what it asked for, and how its session ends. */
export class Attachment {
  readonly #done: Promise<void>;
  #finish!: () => void;
  readonly #detachKeys: DetachScanner;

  constructor(
    readonly connection: ClientConnection,
    readonly options: AttachOptions,
    /** stdcopy frames (no terminal) or the bytes as they are. */
    readonly framed: boolean,
  ) {
    this.#detachKeys = new DetachScanner(options.detachKeys.length > 0 ? options.detachKeys : DEFAULT_DETACH_KEYS);
    this.#done = new Promise((resolve) => (this.#finish = resolve));
    connection.gone.addEventListener("abort", () => this.#finish(), { once: true });
  }

  /** Settles when the client's session is over: the container ended, the client detached or left. */
  get done(): Promise<void> {
    return this.#done;
  }

  get gone(): boolean {
    return this.connection.gone.aborted;
  }

  /** Writes one chunk of a stream the client asked for; false when the client is behind. */
  send(stream: StreamNumber, chunk: Buffer): boolean {
    if (this.gone || !(stream === STDOUT ? this.options.stdout : this.options.stderr)) return true;
    return this.connection.output.write(this.framed ? frame(stream, chunk) : chunk);
  }

  /** Resolves once the client has taken what it was sent, or is gone. */
  drained(): Promise<void> {
    if (this.gone || !this.connection.output.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const settle = () => {
        this.connection.output.off("drain", settle);
        this.connection.gone.removeEventListener("abort", settle);
        resolve();
      };
      this.connection.output.once("drain", settle);
      this.connection.gone.addEventListener("abort", settle, { once: true });
    });
  }

  /** What of the client's input goes on to the container: all but its detach keys. */
  filterInput(chunk: Buffer): { pass: Buffer; detached: boolean } {
    return this.#detachKeys.push(chunk);
  }

  /** Ends the client's stream once what it was sent has gone out. */
  end(): void {
    if (!this.gone && !this.connection.output.writableEnded) this.connection.output.end();
    this.#finish();
  }
}

/** Where a held container's output is kept besides its clients (its log), at the pace it takes it. */
export interface OutputSink {
  write(stream: StreamNumber, chunk: Buffer): boolean;
  drained(): Promise<void>;
  end(): void;
}

/** A started container's stdio, held by the child that started it. */
export class HeldContainer {
  readonly attachments = new Set<Attachment>();
  #sink: OutputSink | undefined;
  /** Output arriving before the start is confirmed: nerdctl's own error, if the start fails. */
  #early: { stream: StreamNumber; chunk: Buffer }[] | undefined = [];
  #earlyText = "";
  #exited = false;
  #markStarted!: () => void;
  readonly #started = new Promise<void>((resolve) => (this.#markStarted = resolve));
  #markSettled!: (started: boolean) => void;
  readonly #settled = new Promise<boolean>((resolve) => (this.#markSettled = resolve));

  constructor(
    readonly child: InteractiveCommand,
    /** The container's stdin closes when a client that typed into it closes its input (docker run -i). */
    readonly stdinOnce: boolean,
  ) {
    this.#relay(STDOUT, child.stdout);
    if (!child.tty) this.#relay(STDERR, child.stderr);
    void child.exited.then(async (status) => {
      // What must be true before the clients learn of the end (their next call reads it), for a run that started.
      if (await this.#settled) await this.beforeEnd?.(status).catch(() => {});
      this.#ended();
    });
  }

  /** Runs when the child has exited, before any client's stream ends. */
  beforeEnd?: (status: ExitStatus) => Promise<void>;

  get tty(): boolean {
    return this.child.tty;
  }

  get exited(): Promise<ExitStatus> {
    return this.child.exited;
  }

  /** What the starter said itself, and all that came before the start was confirmed (a failed start's reason). */
  get nerdctlOutput(): string {
    return this.#earlyText;
  }

  /**
   * The start is settled. Started: output held back goes to the clients, and
   * from now on straight through. Failed: it was nerdctl's error, for the
   * start's answer, not the clients' stream.
   */
  settle(started: boolean): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    if (started) this.#markStarted();
    this.#markSettled(started);
    if (started) for (const { stream, chunk } of early) for (const target of this.#targets()) target.send(stream, chunk);
    if (this.#exited) this.#endAll();
  }

  /** Keeps the output in `sink` too, from the start on (set before settle). */
  keepOutput(sink: OutputSink): void {
    this.#sink = sink;
  }

  /** The clients, and the sink, each with how it takes a chunk and catches up. */
  #targets(): { send(stream: StreamNumber, chunk: Buffer): boolean; drained(): Promise<void> }[] {
    const sink = this.#sink;
    return sink ? [...this.attachments, { send: (stream, chunk) => sink.write(stream, chunk), drained: () => sink.drained() }] : [...this.attachments];
  }

  resize(columns: number, rows: number): void {
    if (this.child.tty) this.child.resize(columns, rows);
  }

  join(attachment: Attachment): void {
    this.attachments.add(attachment);
    void attachment.done.then(() => this.attachments.delete(attachment));
    // Input waits for the start: a starter that reads the end of its input before the task exists cannot pass it on.
    if (attachment.options.stdin) void this.#started.then(() => this.#takeInput(attachment));
  }

  #relay(stream: StreamNumber, source: Readable): void {
    source.on("data", (data: Buffer | string) => {
      const { output: chunk, said } = separateNerdctlLogs(typeof data === "string" ? Buffer.from(data) : data);
      // Before the start is confirmed, all of it may be the starter's reason for a failure.
      const told = said + (this.#early ? chunk.toString("utf8") : "");
      if (told) this.#earlyText = (this.#earlyText + told).slice(-4096);
      if (chunk.length === 0) return;
      if (this.#early) {
        this.#early.push({ stream, chunk });
        return;
      }
      const behind = this.#targets().filter((target) => !target.send(stream, chunk));
      // The slowest client (or the log) sets the pace, as with dockerd; with nobody attached and no log, output is dropped.
      if (behind.length > 0) {
        source.pause();
        void Promise.all(behind.map((target) => target.drained())).then(() => source.resume());
      }
    });
  }

  #takeInput(attachment: Attachment): void {
    const { input } = attachment.connection;
    const stdin = this.child.stdin;
    input.on("data", (data: Buffer | string) => {
      const { pass, detached } = attachment.filterInput(typeof data === "string" ? Buffer.from(data) : data);
      if (pass.length > 0 && !stdin.writableEnded && !stdin.write(pass)) {
        input.pause();
        stdin.once("drain", () => input.resume());
      }
      if (detached) attachment.end();
    });
    input.once("end", () => {
      if (this.stdinOnce && !stdin.writableEnded) stdin.end();
    });
  }

  #ended(): void {
    this.#exited = true;
    if (!this.#early) this.#endAll();
  }

  #endAll(): void {
    this.#sink?.end();
    this.#sink = undefined;
    for (const attachment of this.attachments) attachment.end();
  }
}
