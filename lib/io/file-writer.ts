/** What the writer needs of a file: a FileHandle's vectored write at the file's position. */
export interface VectoredFile {
  writev(buffers: Buffer[]): Promise<{ bytesWritten: number }>;
}

/** What a write gathers before it is made. */
const GATHER_BYTES = 1024 * 1024;

/**
 * Writes a file from pieces as they come (an archive's body, 16–64 KiB at a
 * time as a request delivers it), gathered into vectored writes of up to a
 * MiB: one system call and one round to the thread pool per MiB instead of
 * per piece. A write is made while the next one gathers, so reading the
 * source and writing the file overlap. The pieces are held until written:
 * they must not be buffers their producer reuses.
 */
export class GatheredFileWriter {
  readonly #handle: VectoredFile;
  #pieces: Buffer[] = [];
  #bytes = 0;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(handle: VectoredFile) {
    this.#handle = handle;
  }

  /** Takes the next piece; rejects when an earlier write failed. */
  async write(piece: Buffer): Promise<void> {
    this.#pieces.push(piece);
    this.#bytes += piece.length;
    if (this.#bytes >= GATHER_BYTES) await this.#send();
  }

  /** Writes what is gathered and waits until every write is made. */
  async flush(): Promise<void> {
    if (this.#bytes > 0) await this.#send();
    await this.#inFlight;
  }

  /** Waits for the write in flight, whatever becomes of it: the file may be closed then. */
  settled(): Promise<void> {
    return this.#inFlight.catch(() => {});
  }

  async #send(): Promise<void> {
    await this.#inFlight;
    const pieces = this.#pieces;
    this.#pieces = [];
    this.#bytes = 0;
    this.#inFlight = writeAll(this.#handle, pieces);
    // Seen by the next write or flush, which waits for it; never an unhandled rejection meanwhile.
    this.#inFlight.catch(() => {});
  }
}

/** Writes every byte of pieces at the file's position: a short write is taken up where it stopped. */
async function writeAll(handle: VectoredFile, pieces: Buffer[]): Promise<void> {
  let rest = pieces;
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest);
    if (bytesWritten === 0 && rest.some((piece) => piece.length > 0)) throw new Error("the file took none of the bytes written to it");
    let whole = 0;
    while (whole < rest.length && bytesWritten >= rest[whole]!.length) bytesWritten -= rest[whole++]!.length;
    rest = rest.slice(whole);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
