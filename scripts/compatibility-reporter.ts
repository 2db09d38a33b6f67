import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

const E2E_DIR = join(import.meta.dirname, "..", "e2e");
const REPORT = join(E2E_DIR, "reports", "compatibility.md");
/** describe.each quotes the title it interpolates: 'matrix docker-28 default'. */
const CELL_TITLE = /^'?matrix (\S+) (\S+?)'?$/;

/**
 * Reads the e2e matrix suites back (describe "matrix <client> <namespace>",
 * one test per docker command) and prints and writes the compatibility matrix:
 * command × client × namespace → pass/fail.
 */
export default class CompatibilityReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const results = new Map<string, Map<string, string>>();
    const columns = new Set<string>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        // The cell is the nearest enclosing suite named like one (tests may sit in nested suites).
        let cell: RegExpExecArray | null = null;
        const inner: string[] = [];
        for (let parent = test.parent; parent.type === "suite" && !cell; parent = parent.parent) {
          cell = CELL_TITLE.exec(parent.name);
          if (!cell) inner.unshift(parent.name);
        }
        if (!cell) continue;
        const command = [...inner, test.name].join(" › ");
        const column = `${cell[1]} / ${cell[2]}`;
        const state = test.result().state;
        const mark = state === "passed" ? "pass" : state === "failed" ? "**FAIL**" : "not run";
        columns.add(column);
        const row = results.get(command) ?? new Map<string, string>();
        row.set(column, mark);
        results.set(command, row);
      }
    }
    if (results.size === 0) return;
    const ordered = [...columns].sort();
    const lines = [
      "# Compatibility matrix",
      "",
      "Written by the e2e run (`npm test`): each docker command, run by each docker CLI against nerdctld, in each containerd namespace.",
      "",
      `| command | ${ordered.join(" | ")} |`,
      `| --- | ${ordered.map(() => "---").join(" | ")} |`,
      ...[...results.keys()].sort().map((command) => {
        const row = results.get(command)!;
        return `| \`${command}\` | ${ordered.map((column) => row.get(column) ?? "—").join(" | ")} |`;
      }),
      "",
    ];
    const text = lines.join("\n");
    process.stdout.write(`\n${text}\n`);
    // The committed report is the whole matrix: a run of some suites only prints its part.
    const suites = readdirSync(E2E_DIR).filter((name) => name.endsWith(".e2e.test.ts"));
    const ran = new Set(testModules.map((module) => module.moduleId.split("/").at(-1)));
    if (suites.every((suite) => ran.has(suite))) {
      mkdirSync(join(REPORT, ".."), { recursive: true });
      writeFileSync(REPORT, text);
    }
  }
}
