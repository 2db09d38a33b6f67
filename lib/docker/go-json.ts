/**
 * Request bodies read as dockerd's Go decoder reads them: each field by its Go
 * type, absent and null as the zero value, a value of another type a 400 in
 * the decoder's words.
 */
import { badParameter, describeValue } from "../errors.ts";

type Body = Record<string, unknown>;

/** A field as Go's decoder finds it: the exact key, else one that differs only in case. */
function field(body: Body, name: string): unknown {
  if (name in body) return body[name];
  const key = Object.keys(body).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : body[key];
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (typeof value === "boolean") return "bool";
  return typeof value === "object" ? "object" : typeof value;
}

/** dockerd's words for a body whose value has the wrong type. */
function mismatch(struct: string, name: string, value: unknown, goType: string): Error {
  const shown = typeof value === "number" && goType === "uint" ? `number ${value}` : jsonKind(value);
  return badParameter(`invalid JSON: json: cannot unmarshal ${shown} into Go struct field ${struct}.${name} of type ${goType}`);
}

/** argv cannot carry a NUL: a value holding one is refused before it gets near a command line. */
function checkedText(name: string, value: string): string {
  if (value.includes("\0")) throw badParameter(`${name} must not contain a NUL character: ${describeValue(value)}`);
  return value;
}

export interface GoReader {
  bool(name: string): boolean;
  string(name: string): string;
  strings(name: string): string[];
  /** A map[string]string; an absent one is empty. */
  stringMap(name: string): Record<string, string>;
  /** A pointer to a struct: undefined when absent or null. */
  object(name: string, goType: string): GoReader | undefined;
  /** A slice of structs; a null element is the zero struct. */
  objects(name: string, goType: string): GoReader[];
  /** A [2]uint console size (height, width); undefined when absent or null. */
  size(name: string): { height: number; width: number } | undefined;
}

/**
 * Reads a body's fields by their Go types. `struct` names the Go type in
 * errors (`ExecConfig`, or a path such as `NetworkCreateRequest.IPAM`).
 */
export function reader(struct: string, body: unknown): GoReader {
  if (body === undefined || body === null) body = {};
  if (typeof body !== "object" || Array.isArray(body)) {
    throw badParameter(`invalid JSON: json: cannot unmarshal ${jsonKind(body)} into Go value of type types.${struct}`);
  }
  const fields = body as Body;
  const plain = (name: string): string => {
    const value = field(fields, name) ?? "";
    if (typeof value !== "string") throw mismatch(struct, name, value, "string");
    return checkedText(name, value);
  };
  const nested = (name: string, value: unknown, goType: string): GoReader => {
    if (typeof value !== "object" || Array.isArray(value)) throw mismatch(struct, name, value, goType);
    return reader(`${struct}.${name}`, value);
  };
  return {
    bool(name: string): boolean {
      const value = field(fields, name) ?? false;
      if (typeof value !== "boolean") throw mismatch(struct, name, value, "bool");
      return value;
    },
    string: plain,
    strings(name: string): string[] {
      const value = field(fields, name) ?? [];
      if (!Array.isArray(value)) throw mismatch(struct, name, value, "[]string");
      return value.map((item: unknown) => {
        if (item !== null && typeof item !== "string") throw mismatch(struct, name, item, "string");
        return checkedText(name, item ?? "");
      });
    },
    stringMap(name: string): Record<string, string> {
      const value = field(fields, name) ?? {};
      if (typeof value !== "object" || Array.isArray(value)) throw mismatch(struct, name, value, "map[string]string");
      return Object.fromEntries(
        Object.entries(value as Body).map(([key, item]) => {
          if (item !== null && typeof item !== "string") throw mismatch(struct, name, item, "string");
          return [checkedText(name, key), checkedText(name, item ?? "")];
        }),
      );
    },
    object(name: string, goType: string): GoReader | undefined {
      const value = field(fields, name);
      return value === undefined || value === null ? undefined : nested(name, value, goType);
    },
    objects(name: string, goType: string): GoReader[] {
      const value = field(fields, name) ?? [];
      if (!Array.isArray(value)) throw mismatch(struct, name, value, `[]${goType}`);
      return value.map((item: unknown) => nested(name, item ?? {}, goType));
    },
    size(name: string): { height: number; width: number } | undefined {
      const value = field(fields, name);
      if (value === undefined || value === null) return undefined;
      if (!Array.isArray(value)) throw mismatch(struct, name, value, "[2]uint");
      // Go fills a fixed array from the front: missing elements stay 0, extra ones are dropped.
      const [height, width] = [value[0] ?? 0, value[1] ?? 0].map((item: unknown) => {
        if (typeof item !== "number" || !Number.isInteger(item) || item < 0) throw mismatch(struct, name, item, "uint");
        return item;
      });
      return { height: height!, width: width! };
    },
  };
}
