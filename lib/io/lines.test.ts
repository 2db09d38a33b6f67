import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readLines } from "./lines.ts";

describe("readLines", () => {
  it("splits chunks into lines, whatever the chunk boundaries", async () => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from([Buffer.from("a\nb"), Buffer.from("c\n\nd")]))) lines.push(line);
    expect(lines).toEqual(["a", "bc", "", "d"]);
  });

  it("cuts a line longer than the limit instead of holding it", async () => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from(["x".repeat(25)]), 10)) lines.push(line);
    expect(lines).toEqual(["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
  });
});
