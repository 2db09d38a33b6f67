import { closeSync, constants, mkdtempSync, openSync, read, rmSync, unlinkSync, write } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const readAsync = promisify(read);
const writeAsync = promisify(write);

/**
 * A file holding what a slow reader cannot take yet: appended at the end,
 * read from the front. It is unlinked as soon as it is made (nothing is left
 * after a crash), so only its descriptor reaches it.
 */
export class Spool {
  readonly #fd: number;
  /** Bytes on file, and bytes handed back by take(). */
  #written = 0;
  #taken = 0;
  #queued = 0;
  #appending: Promise<void> = Promise.resolve();

  constructor(prefix: string) {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    try {
      const path = join(dir, "spool");
      this.#fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
      unlinkSync(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Bytes appended (or queued) and not taken yet. */
  get pending(): number {
    return this.#written + this.#queued - this.#taken;
  }

  /** Appends waiting for the disk. */
  get queued(): number {
    return this.#queued;
  }

  /** Queues a chunk at the end; settles when it is on file. */
  append(chunk: Buffer): Promise<void> {
    this.#queued += chunk.length;
    this.#appending = this.#appending.then(async () => {
      await writeAll(this.#fd, chunk, this.#written);
      this.#written += chunk.length;
      this.#queued -= chunk.length;
    });
    return this.#appending;
  }

  /** The next bytes from the front, at most max, once they are on file; they count as taken on return. */
  async take(max: number): Promise<Buffer> {
    if (this.#written === this.#taken) await this.#appending;
    const length = Math.min(max, this.#written - this.#taken);
    const block = Buffer.allocUnsafe(length);
    const { bytesRead } = await readAsync(this.#fd, block, 0, length, this.#taken);
    if (bytesRead !== length) throw new Error(`the spool gave ${bytesRead} of ${length} bytes`);
    this.#taken += length;
    return block;
  }

  close(): void {
    // After queued appends, which still use the descriptor.
    void this.#appending.finally(() => closeSync(this.#fd)).catch(() => {});
  }
}

async function writeAll(fd: number, chunk: Buffer, position: number): Promise<void> {
  for (let done = 0; done < chunk.length; ) {
    const { bytesWritten } = await writeAsync(fd, chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}
