import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command, Program, RunResult } from "./types.ts";

/** One recorded invocation of an engine program. */
export interface Fixture extends RunResult {
  program: Program;
  args: string[];
  /** Engine versions the output came from. */
  versions: Record<string, string>;
  /** stdout is base64: the program printed bytes that are not text (an archive). */
  stdoutBase64?: boolean;
  /** Only the first part of a streamed output was kept. */
  truncated?: boolean;
  /** Recorded through `interactive`: served only to an interactive call with the same tty choice. */
  session?: RecordedSession;
}

/** What an interactive session was given, and how it ended. */
interface RecordedSession {
  /** Ran under a terminal: stdout is all it printed, stderr is empty. */
  tty: boolean;
  /** The bytes written to its stdin before it exited. */
  stdin: string;
  stdinBase64?: boolean;
  /** Its stdin was closed before it exited (the recorded child waited for that). */
  stdinClosed: boolean;
  signal?: NodeJS.Signals;
}

/** A fixture's stdout as the bytes the program printed. */
export function stdoutBytes(fixture: Fixture): Buffer {
  return Buffer.from(fixture.stdout, fixture.stdoutBase64 ? "base64" : "utf8");
}

/** The bytes a session was given on stdin. */
export function stdinBytes(session: RecordedSession): Buffer {
  return Buffer.from(session.stdin, session.stdinBase64 ? "base64" : "utf8");
}

/** Bytes as a fixture stores them: as text when they are text, else base64. */
export function storedBytes(bytes: Buffer): { text: string; base64: boolean } {
  const text = bytes.toString("utf8");
  return Buffer.from(text, "utf8").equals(bytes) ? { text, base64: false } : { text: bytes.toString("base64"), base64: true };
}

const FIXED_TIME = "2026-01-01T00:00:00Z";

/**
 * Rewrites the values that differ between two recordings of the same scenario
 * (container/task ids, temp paths, clock readings) into stable stand-ins, consistently across a
 * whole recording session, so a re-record diffs only when output changes shape.
 */
export class Normalizer {
  readonly #ids = new Map<string, string>();
  readonly #paths: [string, string][];
  readonly #stableIds: Set<string>;

  constructor(options: { paths?: Record<string, string>; stableIds?: Iterable<string> } = {}) {
    // Longest first, so a nested temp dir is replaced before its parent.
    this.#paths = Object.entries(options.paths ?? {}).sort(([a], [b]) => b.length - a.length);
    this.#stableIds = new Set(options.stableIds ?? []);
  }

  /** Content-addressed ids (image and layer digests) stay as they are. */
  keepId(id: string): void {
    this.#stableIds.add(id);
  }

  text(value: string): string {
    // Clock readings (log lines, info's SystemTime) say when it was recorded, not what.
    let out = value
      .replace(/\btime="[^"]*"/g, `time="${FIXED_TIME}"`)
      .replace(/"SystemTime":"[^"]*"/g, `"SystemTime":"${FIXED_TIME}"`);
    for (const [path, standIn] of this.#paths) out = out.split(path).join(standIn);
    out = out.replace(/(?<![0-9a-f:])[0-9a-f]{64}(?![0-9a-f])/g, (id) => this.#standInFor(id));
    for (const [id, standIn] of this.#ids) {
      if (id === standIn) continue;
      out = out.replace(new RegExp(`(?<![0-9a-f])${id.slice(0, 12)}(?![0-9a-f])`, "g"), standIn.slice(0, 12));
    }
    return out;
  }

  #standInFor(id: string): string {
    if (this.#stableIds.has(id)) return id;
    let standIn = this.#ids.get(id);
    if (!standIn) {
      standIn = createHash("sha256").update(`nerdctld-fixture-${this.#ids.size + 1}`).digest("hex");
      this.#ids.set(id, standIn);
    }
    return standIn;
  }
}

export function commandKey(command: Pick<Command, "program" | "args">): string {
  return JSON.stringify([command.program, ...command.args]);
}

/** A call's identity for replay: its argv and, for an interactive one, whether under a terminal. */
export function callKey(command: Pick<Command, "program" | "args">, session?: { tty: boolean }): string {
  return session ? `${session.tty ? "tty" : "interactive"} ${commandKey(command)}` : commandKey(command);
}

/** File name for a fixture: readable, and unique within its scenario directory. */
export function fixtureFileName(index: number, command: Command): string {
  const words = [command.program, ...command.args]
    .filter((word) => !word.startsWith("{{"))
    .join("-")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .slice(0, 80);
  return `${String(index).padStart(3, "0")}-${words}.json`;
}

/** Written with the call and the engine versions first, so a reader sees what recorded it before the output. */
export async function writeFixture(dir: string, name: string, fixture: Fixture): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { program, args, versions, exitCode, ...output } = fixture;
  await writeFile(join(dir, name), `${JSON.stringify({ program, args, versions, exitCode, ...output }, null, 2)}\n`);
}

/** Loads every fixture under dir (recursively), in file-name order. */
export async function readFixtures(dir: string): Promise<Fixture[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".json"))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  return Promise.all(files.map(async (file) => JSON.parse(await readFile(file, "utf8")) as Fixture));
}
