import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The hardening figures, one section per test that measures one (e2e/reports/hardening.md). */
export const HARDENING_REPORT = join(import.meta.dirname, "..", "..", "e2e", "reports", "hardening.md");

const HEADER = "# Hardening figures\n\nEach section is written by the test that measures it, in its full profile.\n";

/** Writes one section of a report, keeping the others as they are; sections stay in name order. */
export function writeReportSection(file: string, name: string, markdown: string): void {
  const sections = new Map<string, string>();
  if (existsSync(file)) {
    for (const match of readFileSync(file, "utf8").matchAll(/<!-- section (\S+) -->\n([\s\S]*?)<!-- end \1 -->\n/g)) {
      sections.set(match[1]!, match[2]!);
    }
  }
  sections.set(name, markdown.endsWith("\n") ? markdown : `${markdown}\n`);
  const body = [...sections.keys()]
    .sort()
    .map((key) => `<!-- section ${key} -->\n${sections.get(key)}<!-- end ${key} -->\n`)
    .join("\n");
  writeFileSync(file, `${HEADER}\n${body}`);
}
