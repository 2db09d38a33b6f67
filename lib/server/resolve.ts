import { versionNumber } from "../docker/api-version.ts";

/** A path template such as `/images/{name}/json`, split once. */
export interface Template {
  text: string;
  segments: readonly string[];
  /** Index of the `{param}` segment, or -1. */
  paramIndex: number;
  paramName?: string;
}

export function parseTemplate(text: string): Template {
  const segments = text.split("/").slice(1);
  const paramIndex = segments.findIndex((segment) => /^\{\w+\}$/.test(segment));
  if (segments.filter((segment) => segment.startsWith("{")).length > 1) {
    throw new Error(`template ${text}: only one parameter per path is supported`);
  }
  return { text, segments, paramIndex, paramName: paramIndex >= 0 ? segments[paramIndex]!.slice(1, -1) : undefined };
}

/**
 * Matches a path against a template. The parameter takes every segment between
 * the template's fixed prefix and fixed suffix, so image names with slashes
 * (`/images/registry.k8s.io/pause:3.8/json`) resolve without escaping.
 */
export function matchTemplate(template: Template, segments: readonly string[]): Record<string, string> | undefined {
  const t = template.segments;
  if (template.paramIndex < 0) {
    return t.length === segments.length && t.every((segment, i) => segment === segments[i]) ? {} : undefined;
  }
  const suffixLength = t.length - template.paramIndex - 1;
  if (segments.length < t.length) return undefined;
  for (let i = 0; i < template.paramIndex; i++) if (t[i] !== segments[i]) return undefined;
  for (let i = 1; i <= suffixLength; i++) if (t[t.length - i] !== segments[segments.length - i]) return undefined;
  const raw = segments.slice(template.paramIndex, segments.length - suffixLength);
  if (raw.some((segment) => segment === "")) return undefined;
  let value: string;
  try {
    value = raw.map((segment) => decodeURIComponent(segment)).join("/");
  } catch {
    return undefined;
  }
  return { [template.paramName!]: value };
}

/** Static templates first, then the longest fixed suffix: the most specific match wins. */
function specificity(template: Template): number {
  return template.paramIndex < 0 ? 1000 : template.segments.length;
}

export interface RouteEntry<H> {
  method: string;
  template: Template;
  /** The API version layer the handler was written against. */
  layer: string;
  handler: H;
}

export type Resolution<H> =
  | { kind: "route"; route: RouteEntry<H>; params: Record<string, string> }
  /** A Docker API operation with no handler here. */
  | { kind: "not-implemented"; operation: string }
  /** The path exists for other methods only. */
  | { kind: "method-not-allowed" }
  | { kind: "not-found" };

/**
 * The daemon's route table, built once at start-up: resolves a method, an
 * unversioned path and the client's API version to the handler of the nearest
 * version layer at or below that version (the oldest layer serves every
 * version below it).
 */
export class RouteTable<H> {
  /** Every route with its layer and specificity as numbers: resolving compares numbers only. */
  readonly #routes: { route: RouteEntry<H>; layer: number; specificity: number }[];
  readonly #operations: { method: string; template: Template }[];
  readonly #oldestLayer: number;

  constructor(routes: RouteEntry<H>[], operations: readonly string[]) {
    this.#routes = routes
      .map((route) => ({ route, layer: versionNumber(route.layer), specificity: specificity(route.template) }))
      .sort((a, b) => b.specificity - a.specificity || b.layer - a.layer);
    this.#operations = operations.map((operation) => {
      const [method, path] = operation.split(" ") as [string, string];
      return { method, template: parseTemplate(path) };
    });
    this.#oldestLayer = Math.min(...this.#routes.map((entry) => entry.layer));
  }

  get routes(): readonly RouteEntry<H>[] {
    return this.#routes.map((entry) => entry.route);
  }

  resolve(method: string, path: string, version: string): Resolution<H> {
    const segments = path.split("/").slice(1);
    const effective = Math.max(versionNumber(version), this.#oldestLayer);
    let best: { route: RouteEntry<H>; params: Record<string, string>; specificity: number } | undefined;
    for (const entry of this.#routes) {
      if (entry.route.method !== method || entry.layer > effective) continue;
      if (best && entry.specificity < best.specificity) break;
      const params = matchTemplate(entry.route.template, segments);
      if (!params) continue;
      // Same specificity: the newest layer not above the requested version wins (sorted first).
      if (!best) best = { route: entry.route, params, specificity: entry.specificity };
    }
    if (best) return { kind: "route", route: best.route, params: best.params };

    let otherMethod = false;
    const operations = this.#operations
      .filter((operation) => matchTemplate(operation.template, segments))
      .sort((a, b) => specificity(b.template) - specificity(a.template));
    for (const operation of operations) {
      if (operation.method === method) return { kind: "not-implemented", operation: `${method} ${operation.template.text}` };
      otherMethod = true;
    }
    return otherMethod ? { kind: "method-not-allowed" } : { kind: "not-found" };
  }
}
