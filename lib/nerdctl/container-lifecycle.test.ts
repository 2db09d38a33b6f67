import { describe, expect, it } from "vitest";
import { isNerdctlLog, startFailureMessage } from "./container-lifecycle.ts";

describe("an attached start's own words", () => {
  it("tells nerdctl's log lines from the container's output, in both of logrus's forms", () => {
    expect(isNerdctlLog('time="2026-12-05T03:19:38Z" level=fatal msg="1 errors:\\n"\n')).toBe(true);
    expect(isNerdctlLog('time="2026-12-05T03:19:38Z" level=warning msg="x" error="y z"\n')).toBe(true);
    expect(isNerdctlLog("\x1b[31mFATA\x1b[0m[0001] 1 errors:                                    \n")).toBe(true);
    expect(isNerdctlLog("hello\n")).toBe(false);
    expect(isNerdctlLog('time="x" level=info msg="a"\nand the container\n')).toBe(false);
    expect(isNerdctlLog("")).toBe(false);
  });

  it("finds why a start failed, whichever starter said it", () => {
    expect(startFailureMessage('time="t" level=fatal msg="1 errors:\\nfailed to create shim task: exec: \\"x\\": not found"\n')).toBe(
      'failed to create shim task: exec: "x": not found',
    );
    expect(startFailureMessage("\x1b[31mFATA\x1b[0m[0000] 1 errors:   \r\nfailed to create shim task: boom   \r\n")).toBe("failed to create shim task: boom");
    expect(startFailureMessage("ctr: failed to create shim task: boom\n")).toBe("failed to create shim task: boom");
    expect(startFailureMessage("just output\n")).toBeUndefined();
  });
});
