/** Docker's multiplexed stream ("stdcopy"): each chunk framed with its stream and length. */
export const STDOUT = 1;
export const STDERR = 2;

/** One frame: [stream, 0, 0, 0, length as big-endian uint32] then the bytes. */
export function frame(stream: typeof STDOUT | typeof STDERR, chunk: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(chunk.length, 4);
  return Buffer.concat([header, chunk]);
}

/** Splits a multiplexed stream back into frames (for tests and clients of our own). */
export function* frames(data: Buffer): Generator<{ stream: number; payload: Buffer }> {
  let offset = 0;
  while (offset + 8 <= data.length) {
    const size = data.readUInt32BE(offset + 4);
    yield { stream: data[offset]!, payload: data.subarray(offset + 8, offset + 8 + size) };
    offset += 8 + size;
  }
}
