import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends a run with one plain line of counts, for tools that read it (CI logs,
 * scripts), after the tests that passed only when run again.
 */
export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const retried: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed" && test.diagnostic()?.flaky) retried.push(`${module.relativeModuleId} > ${test.fullName}`);
        if (state === "passed") counts.passed += 1;
        else if (state === "failed") counts.failed += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load (or whose setup threw) ran none of its tests: count it as a failure.
      if (module.state() === "failed" && ![...module.children.allTests()].some((test) => test.result().state === "failed")) {
        counts.failed += 1;
      }
    }
    for (const name of retried) process.stdout.write(`\npassed when run again: ${name}`);
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
