import { execa } from "execa";
import { expect, it } from "vitest";
import { REPO_ROOT } from "./support/daemon.ts";

// Re-records every fixture on a fresh engine and compares shapes with the committed ones.
it("nerdctl's output still has the shape the fixtures were recorded with", async () => {
  const result = await execa("npx", ["tsx", "scripts/record-fixtures.ts", "--check"], { cwd: REPO_ROOT, reject: false });
  expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout).toMatch(/no drift/);
}, 240_000);
