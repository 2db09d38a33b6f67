import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Fixture } from "../lib/runner/fixture.ts";

/** The shape of a value: keys and types, not contents. */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (value === null) return "null";
  if (typeof value === "object") {
    return Object.fromEntries(Object.keys(value as object).sort().map((key) => [key, shapeOf((value as Record<string, unknown>)[key])]));
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

async function listJson(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith(".json")).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** Every difference in shape between two fixture trees, as readable lines. */
export async function compareFixtureDirs(before: string, after: string): Promise<string[]> {
  const problems: string[] = [];
  const [oldFiles, newFiles] = await Promise.all([listJson(before), listJson(after)]);
  for (const file of oldFiles.filter((f) => !newFiles.includes(f))) problems.push(`- ${file}: no longer recorded`);
  for (const file of newFiles.filter((f) => !oldFiles.includes(f))) problems.push(`+ ${file}: newly recorded`);
  for (const file of oldFiles.filter((f) => newFiles.includes(f))) {
    const [a, b] = await Promise.all(
      [before, after].map(async (dir) => JSON.parse(await readFile(join(dir, file), "utf8")) as Fixture),
    );
    if (a!.exitCode !== b!.exitCode) problems.push(`~ ${file}: exit code ${a!.exitCode} -> ${b!.exitCode}`);
    const [shapeA, shapeB] = [JSON.stringify(stdoutShape(a!.stdout)), JSON.stringify(stdoutShape(b!.stdout))];
    if (shapeA !== shapeB) problems.push(`~ ${file}: stdout shape\n    was: ${shapeA}\n    now: ${shapeB}`);
  }
  return problems;
}
