import { badParameter, describeValue } from "../errors.ts";
import type { ContainerCreateOptions, ListFlag, RepeatedFlag, SingleFlag, SwitchFlag } from "../nerdctl/container-create.ts";
import type { ImageDefaults } from "./container-create-types.ts";

/** nerdctl create's options as the translators of a body fill them in, with the warnings they give. */
export class CreateFlags {
  readonly single: Partial<Record<SingleFlag, string>> = {};
  readonly lists: Partial<Record<ListFlag, string[]>> = {};
  readonly repeated: Partial<Record<RepeatedFlag, string[]>> = {};
  readonly switches: SwitchFlag[] = [];
  readonly warnings: string[] = [];

  constructor(readonly image: ImageDefaults) {}

  set(flag: SingleFlag, value: string | number): void {
    this.single[flag] = String(value);
  }

  list(flag: ListFlag, values: readonly string[]): void {
    if (values.length) (this.lists[flag] ??= []).push(...values);
  }

  repeat(flag: RepeatedFlag, values: readonly string[]): void {
    if (values.length) (this.repeated[flag] ??= []).push(...values);
  }

  on(flag: SwitchFlag, when: boolean | null | undefined = true): void {
    if (when && !this.switches.includes(flag)) this.switches.push(flag);
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  options(image: string, command: string[], entrypoint: string[] | undefined): ContainerCreateOptions {
    return { image, command, entrypoint, single: this.single, lists: this.lists, repeated: this.repeated, switches: this.switches };
  }
}

/** A field that must be a list of strings (null is none); a 400 naming it otherwise. */
export function strings(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) throw badParameter(`${field} must be a list of strings`);
  return value as string[];
}

/** A field that must be a list of objects (null is none, a null item an empty object); a 400 naming it otherwise. */
export function objects<T extends object>(field: string, value: unknown): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => item !== null && (typeof item !== "object" || Array.isArray(item)))) {
    throw badParameter(`${field} must be a list of objects`);
  }
  return value.map((item) => (item ?? {}) as T);
}

/** A field that must be a map of strings. */
export function stringMap(field: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value) || Object.values(value).some((item) => typeof item !== "string")) {
    throw badParameter(`${field} must be an object of strings`);
  }
  return value as Record<string, string>;
}

/** A field that must be an integer (absent or null is 0). */
export function integer(field: string, value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw badParameter(`${field} must be an integer, not ${describeValue(String(value))}`);
  return value;
}

/** A field that must be a string (absent or null is ""). */
export function text(field: string, value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw badParameter(`${field} must be a string`);
  return value;
}

/** A `key=value` word for a map entry; a key that would be cut at its own `=` is refused. */
export function keyValues(field: string, map: Record<string, string>): string[] {
  return Object.entries(map).map(([key, value]) => {
    if (key === "" || key.includes("=")) throw badParameter(`invalid key in ${field}: ${describeValue(key)}`);
    return `${key}=${value}`;
  });
}
