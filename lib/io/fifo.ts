import { execFile } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { Socket, type SocketConstructorOpts } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuplexOptions } from "node:stream";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** What the FIFO's writer holds in memory: the kernel's 64 KiB pipe fills fast, and batches of a MiB go in behind it. */
const FIFO_WRITE_BUFFER = 4 * 1024 * 1024;

export interface Fifo {
  /** The read end, for a child's stdin. */
  readFd: number;
  /** The write end, a non-blocking stream. */
  writer: Socket;
  /** Closes the read end (once the child has its own copy); safe to call more than once. */
  closeReadEnd(): void;
}

/**
 * A FIFO to use as a child's stdin, already unlinked: the read end for the
 * child, the write end as a non-blocking Node stream (back-pressure without
 * blocking libuv's thread pool). Node has no mkfifo, so coreutils' makes it.
 */
export async function openFifo(): Promise<Fifo> {
  const dir = await mkdtemp(join(tmpdir(), "nerdctld-fifo-"));
  try {
    const path = join(dir, "stdin");
    await execFileAsync("mkfifo", ["-m", "600", "--", path], { timeout: 10_000 });
    // The read end first, non-blocking, so opening the write end does not wait for a reader.
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    let writeFd: number;
    try {
      writeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      closeSync(readFd);
      throw error;
    }
    const options: SocketConstructorOpts & DuplexOptions = { fd: writeFd, readable: false, writable: true, writableHighWaterMark: FIFO_WRITE_BUFFER };
    const writer = new Socket(options);
    writer.on("error", () => {});
    let open = true;
    return {
      readFd,
      writer,
      closeReadEnd: () => {
        if (open) closeSync(readFd);
        open = false;
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
