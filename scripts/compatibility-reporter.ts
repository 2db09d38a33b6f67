import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

const E2E_DIR = join(import.meta.dirname, "..", "e2e");
const REPORT = join(E2E_DIR, "reports", "compatibility.md");
/** describe.each quotes the title it interpolates: 'matrix docker-28 default'. */
const CELL_TITLE = /^'?matrix (\S+) (\S+?)'?$/;

/**
 * Reads the e2e matrix suites back (describe "matrix <client> <namespace>",
 * one test per command or scenario) and prints and writes the compatibility
 * matrix: command × client × namespace → pass/fail, one table per kind of client.
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
    const lines = [
      "# Compatibility matrix",
      "",
      "Written by the e2e run (`npm test`): what each client does against nerdctld, in each containerd namespace.",
    ];
    // One table per kind of client (docker CLIs, each library): their scenarios are not the same commands.
    const families = new Map<string, string[]>();
    for (const column of [...columns].sort()) {
      const family = column.replace(/-[\d.]+ \/ .*$/, "");
      families.set(family, [...(families.get(family) ?? []), column]);
    }
    for (const [family, familyColumns] of families) {
      const rows = [...results.keys()].filter((command) => familyColumns.some((column) => results.get(command)!.has(column)));
      lines.push(
        "",
        `## ${family}`,
        "",
        `| ${family === "docker" ? "command" : "scenario"} | ${familyColumns.join(" | ")} |`,
        `| --- | ${familyColumns.map(() => "---").join(" | ")} |`,
        ...rows.sort().map((command) => {
          const row = results.get(command)!;
          return `| \`${command}\` | ${familyColumns.map((column) => row.get(column) ?? "—").join(" | ")} |`;
        }),
      );
    }
    lines.push("");
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
