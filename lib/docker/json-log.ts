/*
 * Docker's json-file log, the format nerdctl's default log driver writes and
 * `nerdctl logs` reads: one JSON object per line of output, with its stream
 * and its time (RFC 3339, nanoseconds).
 */

export type LogStream = "stdout" | "stderr";

/** Longest line kept whole; a longer one is written in pieces of this size, as dockerd does. */
const MAX_LINE_BYTES = 16 * 1024;

function entry(stream: LogStream, line: Buffer, time: Date): string {
  const nanos = `${time.toISOString().slice(0, -1)}000000Z`;
  return `${JSON.stringify({ log: line.toString("utf8"), stream, time: nanos })}\n`;
}

/** Turns a stream's output, chunk by chunk, into log entries: a line is written once it ends. */
export class JsonLogEncoder {
  readonly #partial: Record<LogStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  /** The entries of the lines this chunk ends. */
  push(stream: LogStream, chunk: Buffer, time: Date): string {
    let pending = this.#partial[stream].length > 0 ? Buffer.concat([this.#partial[stream], chunk]) : chunk;
    let entries = "";
    for (;;) {
      const newline = pending.indexOf(10);
      const end = newline >= 0 && newline < MAX_LINE_BYTES ? newline + 1 : pending.length >= MAX_LINE_BYTES ? MAX_LINE_BYTES : -1;
      if (end < 0) break;
      entries += entry(stream, pending.subarray(0, end), time);
      pending = pending.subarray(end);
    }
    // Copied: the chunk's buffer may be reused by its reader.
    this.#partial[stream] = Buffer.from(pending);
    return entries;
  }

  /** The entries of what is left unended, once the output is over. */
  end(time: Date): string {
    let entries = "";
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.#partial[stream].length > 0) entries += entry(stream, this.#partial[stream], time);
      this.#partial[stream] = Buffer.alloc(0);
    }
    return entries;
  }
}

/** The log file nerdctld may write itself: the json-file driver's, with no rotation for nerdctl's logger to do. */
export function ownJsonLog(logConfig: { Type?: unknown; Config?: unknown } | undefined, logPath: string | undefined): string | undefined {
  const type = logConfig?.Type ?? "json-file";
  const options = (logConfig?.Config ?? {}) as Record<string, unknown>;
  return type === "json-file" && Object.keys(options).length === 0 && logPath ? logPath : undefined;
}
