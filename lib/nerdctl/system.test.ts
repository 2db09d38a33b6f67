import { describe, expect, it } from "vitest";
import type { CommandRunner, RunResult } from "../runner/types.ts";
import { Nerdctl } from "./client.ts";
import { buildCacheUsage } from "./system.ts";

const answering = (result: RunResult | Error): CommandRunner => ({
  run: async () => {
    if (result instanceof Error) throw result;
    return result;
  },
  spawn: () => {
    throw new Error("not used");
  },
  interactive: () => {
    throw new Error("not used");
  },
});

describe("buildCacheUsage", () => {
  it("is empty when BuildKit has none (buildctl prints null), or cannot be asked", async () => {
    expect(await buildCacheUsage(new Nerdctl(answering({ stdout: "null\n", stderr: "", exitCode: 0 })))).toEqual([]);
    expect(await buildCacheUsage(new Nerdctl(answering({ stdout: "", stderr: "connection refused", exitCode: 1 })))).toEqual([]);
    expect(await buildCacheUsage(new Nerdctl(answering(new Error("spawn buildctl ENOENT"))))).toEqual([]);
  });
});
