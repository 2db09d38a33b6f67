/**
 * The little of protobuf's wire format the BuildKit relay reads and writes:
 * fields walked one by one (so the bytes of fields left alone are copied as
 * they came), strings, bytes and map<string, string> entries.
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** One field of an encoded message: its number, and its bytes (tag included) as they are. */
export interface WireField {
  number: number;
  wireType: number;
  /** The whole field, tag included, for copying it unchanged. */
  raw: Buffer;
  /** A length-delimited field's payload (a string, bytes or an embedded message). */
  payload?: Buffer;
}

function readVarint(buffer: Buffer, offset: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let at = offset; at < buffer.length && at < offset + 10; at++) {
    const byte = buffer[at]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, at + 1];
  }
  throw new Error("protobuf: truncated varint");
}

/** The fields of an encoded message, in order. */
export function readFields(message: Buffer): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  while (offset < message.length) {
    const start = offset;
    const [tag, afterTag] = readVarint(message, offset);
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    let payload: Buffer | undefined;
    switch (wireType) {
      case VARINT:
        offset = readVarint(message, afterTag)[1];
        break;
      case FIXED64:
        offset = afterTag + 8;
        break;
      case FIXED32:
        offset = afterTag + 4;
        break;
      case LENGTH_DELIMITED: {
        const [length, afterLength] = readVarint(message, afterTag);
        offset = afterLength + length;
        payload = message.subarray(afterLength, offset);
        break;
      }
      default:
        throw new Error(`protobuf: unsupported wire type ${wireType}`);
    }
    if (offset > message.length || number === 0) throw new Error("protobuf: truncated or malformed message");
    fields.push({ number, wireType, raw: message.subarray(start, offset), ...(payload ? { payload } : {}) });
  }
  return fields;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A length-delimited field: a string, bytes or an embedded message. */
export function lengthDelimited(number: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  return Buffer.concat([varint(number * 8 + LENGTH_DELIMITED), varint(bytes.length), bytes]);
}

/** The first length-delimited field of that number, as a string; undefined when absent. */
export function stringField(fields: readonly WireField[], number: number): string | undefined {
  return fields.find((field) => field.number === number && field.payload)?.payload?.toString("utf8");
}

/** A map<string, string> field's entries (each entry is a message: key = 1, value = 2). */
export function mapEntries(fields: readonly WireField[], number: number): [string, string][] {
  return fields
    .filter((field) => field.number === number && field.payload)
    .map((field) => {
      const entry = readFields(field.payload!);
      return [stringField(entry, 1) ?? "", stringField(entry, 2) ?? ""];
    });
}

/** One map<string, string> entry, as a field of that number. */
export function mapEntry(number: number, key: string, value: string): Buffer {
  return lengthDelimited(number, Buffer.concat([lengthDelimited(1, key), lengthDelimited(2, value)]));
}
