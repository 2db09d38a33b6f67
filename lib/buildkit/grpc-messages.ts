import { Transform, type TransformCallback } from "node:stream";

/**
 * gRPC's message framing over an HTTP/2 stream: each message is a 1-byte
 * compression flag, a 4-byte big-endian length and the message.
 */

const PREFIX = 5;

/** One message framed for a gRPC stream (uncompressed). */
export function frameMessage(message: Buffer): Buffer {
  const prefix = Buffer.alloc(PREFIX);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/**
 * Splits a gRPC stream's bytes into its messages, one chunk each. A message
 * is held only until it is whole: at most `maxMessageBytes` (a larger one
 * fails the stream). Compressed messages are refused: the relay asks for none.
 */
export class MessageSplitter extends Transform {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(private readonly maxMessageBytes: number) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    try {
      this.#emitWhole();
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    done(this.#pendingBytes === 0 ? null : new Error(`gRPC stream ended inside a message (${this.#pendingBytes} bytes left)`));
  }

  #emitWhole(): void {
    while (this.#pendingBytes >= PREFIX) {
      const head = this.#pending[0]!.length >= PREFIX ? this.#pending[0]! : Buffer.concat(this.#pending);
      if (head[0] !== 0) throw new Error("compressed gRPC messages are not supported");
      const length = head.readUInt32BE(1);
      if (length > this.maxMessageBytes) throw new Error(`gRPC message of ${length} bytes is over the ${this.maxMessageBytes}-byte limit`);
      if (this.#pendingBytes < PREFIX + length) return;
      // Joined once the message is whole, not at every chunk.
      const buffer = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
      this.push(buffer.subarray(PREFIX, PREFIX + length));
      const rest = buffer.subarray(PREFIX + length);
      this.#pending = rest.length > 0 ? [rest] : [];
      this.#pendingBytes = rest.length;
    }
  }
}

/** Re-frames each whole message after `change` (a Transform after a MessageSplitter). */
export function mapMessages(change: (message: Buffer) => Buffer): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(message: Buffer, _encoding, done) {
      try {
        done(null, frameMessage(change(message)));
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
