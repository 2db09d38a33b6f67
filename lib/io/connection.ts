import type { Readable, Writable } from "node:stream";

/**
 * A client's connection, taken over for an interactive stream (exec, attach):
 * bytes both ways, as they come.
 */
export interface ClientConnection {
  /**
   * What the client sends (what it types). Its end is the client closing its
   * sending side: the client still reads what follows.
   */
  input: Readable;
  /** What the client reads; ending it ends the stream for the client. */
  output: Writable;
  /** Aborts when the client is gone entirely: nothing written reaches it any more. */
  gone: AbortSignal;
}

/** What runs over a taken-over connection; it settles when the stream is over. */
export type ConnectionSession = (connection: ClientConnection) => Promise<void>;
