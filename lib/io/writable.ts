import type { Writable } from "node:stream";

/** Settles when a writable has drained, or is gone. */
export function untilDrained(destination: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      destination.off("drain", done).off("close", done);
      resolve();
    };
    destination.once("drain", done).once("close", done);
  });
}

/**
 * A body that writes itself into a destination (an HTTP response): it ends or
 * destroys the destination, and stops on its own when the destination closes
 * early (the client went away); abort() is how a caller says so otherwise.
 */
export interface PipeableBody {
  pipe<T extends Writable>(destination: T): T;
  abort(): void;
}
