import { readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { EventHandler } from "h3";
import { parseTemplate, type RouteEntry } from "./resolve.ts";

const METHODS = new Set(["get", "head", "post", "put", "delete"]);
const ROUTE_FILE = /^(.+)\.(get|head|post|put|delete)\.(?:ts|js|mjs)$/;

/**
 * Maps a file under routes/ to its API layer, method and path template:
 * `v1.43/images/[name]/json.get.ts` → 1.43, GET, `/images/{name}/json`.
 */
export function routeFromFile(file: string): { layer: string; method: string; template: string } | undefined {
  const parts = file.split(sep);
  const layer = /^v(\d+\.\d+)$/.exec(parts[0] ?? "")?.[1];
  const match = ROUTE_FILE.exec(parts.at(-1) ?? "");
  if (!layer || !match || file.endsWith(".d.ts") || /\.test\.[jt]s$/.test(file)) return undefined;
  const method = match[2]!;
  if (!METHODS.has(method)) return undefined;
  const segments = [...parts.slice(1, -1), match[1]!].map((segment) => segment.replace(/^\[(\w+)\]$/, "{$1}"));
  return { layer, method: method.toUpperCase(), template: `/${segments.join("/")}` };
}

/** Imports every route module under dir once; the table is built from these at start-up. */
export async function loadRouteFiles(dir: string): Promise<RouteEntry<EventHandler>[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const routes: RouteEntry<EventHandler>[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const route = routeFromFile(relative(dir, file));
    if (!route) continue;
    const module = (await import(pathToFileURL(file).href)) as { default?: EventHandler };
    if (typeof module.default !== "function") throw new Error(`${file}: a route file must export a default handler`);
    routes.push({ method: route.method, layer: route.layer, template: parseTemplate(route.template), handler: module.default });
  }
  return routes;
}
