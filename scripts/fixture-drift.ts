import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Fixture } from "../lib/runner/fixture.ts";

/** The shape of a value: keys and types, not contents. */
export function shapeOf(value: unknown): unknown {
  // Every kind of element, in a stable order: lists come back in whatever order the engine keeps.
  if (Array.isArray(value)) {
    const kinds = new Map(value.map((item) => shapeOf(item)).map((shape) => [JSON.stringify(shape), shape]));
    return [...kinds.keys()].sort().map((key) => kinds.get(key));
  }
  if (value === null) return "null";
  if (typeof value === "object") {
    // Keys that are ids (a network's containers) are data, not shape.
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((key) => [/^[0-9a-f]{64}$/.test(key) ? "<id>" : key, shapeOf((value as Record<string, unknown>)[key])]),
    );
  }
  return typeof value;
}

/**
 * stdout's shape: one JSON document per line (lists, progress) gives the kinds
 * of line, not how many there were; a document over several lines gives its
 * shape; anything else is just text (how long progress runs is not shape).
 */
function stdoutShape(stdout: string): unknown {
  const lines = stdout.split("\n").filter((line) => line.trim());
  // No output at all says nothing about shape (a log whose last line went to stderr).
  if (lines.length === 0) return "text";
  const perLine = lines.map((line) => {
    try {
      return shapeOf(JSON.parse(line));
    } catch {
      return undefined;
    }
  });
  if (lines.length > 0 && perLine.every((shape) => shape !== undefined)) {
    const kinds = new Map(perLine.map((shape) => [JSON.stringify(shape), shape]));
    return [...kinds.keys()].sort().map((key) => kinds.get(key));
  }
  try {
    return shapeOf(JSON.parse(stdout || "null"));
  } catch {
    return "text";
  }
}

/** A command with what varies between recordings (ids, digests, temp names) masked: how calls are matched. */
export function commandKind(fixture: Fixture): string {
  const masked = fixture.args.map((arg) =>
    arg
      .replace(/(sha256:)?[0-9a-f]{12,64}/g, "<id>")
      .replace(/\b\d{1,3}(\.\d{1,3}){3}(\/\d+)?\b/g, "<ip>")
      .replace(/:\d{2,5}\b/g, ":<port>"),
  );
  // Names after `--` come in the order the engine listed them: sort them.
  const end = masked.indexOf("--");
  const args = end < 0 ? masked : [...masked.slice(0, end + 1), ...masked.slice(end + 1).toSorted()];
  return [fixture.program, ...args].join(" ");
}

/** Every fixture under dir, by scenario and kind of call, with the set of stdout shapes and exit codes seen. */
async function summarize(dir: string): Promise<Map<string, { shapes: Set<string>; exitCodes: Set<number> }>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const summary = new Map<string, { shapes: Set<string>; exitCodes: Set<number> }>();
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(".json")) continue;
    const fixture = JSON.parse(await readFile(join(entry.parentPath, entry.name), "utf8")) as Fixture;
    const key = `${relative(dir, entry.parentPath)}: ${commandKind(fixture)}`;
    const seen = summary.get(key) ?? { shapes: new Set<string>(), exitCodes: new Set<number>() };
    // Bytes that are not JSON are "text" whichever way they were stored (an archive, progress).
    seen.shapes.add(JSON.stringify(fixture.stdoutBase64 ? "text" : stdoutShape(fixture.stdout)));
    seen.exitCodes.add(fixture.exitCode);
    summary.set(key, seen);
  }
  return summary;
}

const setText = <T>(values: Set<T>) => [...values].map(String).sort().join(" | ");

/**
 * Every difference in shape between two fixture trees, as readable lines.
 * Calls are matched by scenario and kind (ids masked), not by file name: the
 * order of concurrent calls and the ids they got vary between recordings.
 */
export async function compareFixtureDirs(before: string, after: string): Promise<string[]> {
  const [old, now] = await Promise.all([summarize(before), summarize(after)]);
  const problems: string[] = [];
  for (const key of [...old.keys()].sort()) if (!now.has(key)) problems.push(`- ${key}: no longer recorded`);
  for (const key of [...now.keys()].sort()) if (!old.has(key)) problems.push(`+ ${key}: newly recorded`);
  for (const key of [...old.keys()].sort()) {
    const a = old.get(key)!;
    const b = now.get(key);
    if (!b) continue;
    if (setText(a.exitCodes) !== setText(b.exitCodes)) problems.push(`~ ${key}: exit code ${setText(a.exitCodes)} -> ${setText(b.exitCodes)}`);
    if (setText(a.shapes) !== setText(b.shapes)) problems.push(`~ ${key}: stdout shape\n    was: ${setText(a.shapes)}\n    now: ${setText(b.shapes)}`);
  }
  return problems;
}
