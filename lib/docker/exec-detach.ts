import { badParameter } from "../errors.ts";

/** Docker's default detach keys: ctrl-p, ctrl-q. */
export const DEFAULT_DETACH_KEYS = Uint8Array.of(16, 17);

/** ctrl-@ is 0, ctrl-a 1, … ctrl-_ 31: each key's index is its code. */
const CONTROL_KEYS = [..."@abcdefghijklmnopqrstuvwxyz[\\]^_"].map((key) => `ctrl-${key}`);

/**
 * Docker's detach keys ("ctrl-p,ctrl-q", "a,ctrl-x,DEL") as the bytes a
 * terminal sends for them. Empty for none given (the default applies). A
 * key dockerd does not know is refused in its words, as a 400 (dockerd's is a
 * 500, yet the fault is the client's).
 */
export function parseDetachKeys(keys: string): Uint8Array {
  if (keys === "") return new Uint8Array();
  const codes = keys.split(",").map((key) => {
    if (Buffer.byteLength(key) === 1) return key.charCodeAt(0);
    if (key === "DEL") return 127;
    const code = CONTROL_KEYS.indexOf(key);
    if (code < 0) throw badParameter(`Invalid escape keys (${keys}) provided`);
    return code;
  });
  return Uint8Array.from(codes);
}

/**
 * Watches what a client types at a terminal for its detach keys. Bytes that
 * may begin the sequence are held back until the next ones tell: the process
 * never sees the keys, and sees a partial match once it turns out not to be one.
 */
export class DetachScanner {
  #matched = 0;

  constructor(private readonly keys: Uint8Array) {}

  /** The bytes to pass on, and whether the keys were typed (nothing after them is passed on). */
  push(chunk: Uint8Array): { pass: Buffer; detached: boolean } {
    const parts: Uint8Array[] = [];
    let start = 0;
    for (let index = 0; index < chunk.length; index++) {
      const byte = chunk[index]!;
      if (this.#matched > 0 && byte !== this.keys[this.#matched]) {
        // Not the sequence after all: what was held goes on, and this byte is looked at afresh.
        parts.push(this.keys.subarray(0, this.#matched));
        this.#matched = 0;
        start = index;
      }
      if (byte !== this.keys[this.#matched]) continue;
      if (this.#matched === 0) parts.push(chunk.subarray(start, index));
      this.#matched += 1;
      start = index + 1;
      if (this.#matched === this.keys.length) {
        this.#matched = 0;
        return { pass: Buffer.concat(parts), detached: true };
      }
    }
    if (this.#matched === 0) parts.push(chunk.subarray(start));
    return { pass: Buffer.concat(parts), detached: false };
  }
}
