import { describe, expect, it } from "vitest";
import { JsonLogEncoder, ownJsonLog } from "./json-log.ts";

const time = new Date("2026-12-05T13:57:27.479Z");
const parse = (entries: string) => entries.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { log: string; stream: string; time: string });

describe("the json-file log", () => {
  it("writes a line once it ends, each stream apart, with nanosecond times", () => {
    const encoder = new JsonLogEncoder();
    expect(encoder.push("stdout", Buffer.from("hel"), time)).toBe("");
    expect(encoder.push("stderr", Buffer.from("oops\nha"), time)).toBe('{"log":"oops\\n","stream":"stderr","time":"2026-12-05T13:57:27.479000000Z"}\n');
    expect(parse(encoder.push("stdout", Buffer.from('lo "x"\n\nnext'), time)).map((entry) => entry.log)).toEqual(['hello "x"\n', "\n"]);
    expect(parse(encoder.end(time))).toEqual([
      { log: "next", stream: "stdout", time: "2026-12-05T13:57:27.479000000Z" },
      { log: "ha", stream: "stderr", time: "2026-12-05T13:57:27.479000000Z" },
    ]);
    expect(encoder.end(time)).toBe("");
  });

  it("cuts a line longer than 16 KiB into pieces", () => {
    const encoder = new JsonLogEncoder();
    const pieces = parse(encoder.push("stdout", Buffer.from(`${"a".repeat(40_000)}\n`), time)).map((entry) => entry.log.length);
    expect(pieces).toEqual([16_384, 16_384, 40_000 - 32_768 + 1]);
  });

  it("is written by nerdctld only for the json-file driver without options", () => {
    expect(ownJsonLog({ Type: "json-file", Config: {} }, "/d/c-json.log")).toBe("/d/c-json.log");
    expect(ownJsonLog(undefined, "/d/c-json.log")).toBe("/d/c-json.log");
    expect(ownJsonLog({ Type: "json-file", Config: { "max-size": "1m" } }, "/d/c-json.log")).toBeUndefined();
    expect(ownJsonLog({ Type: "journald", Config: {} }, "/d/c-json.log")).toBeUndefined();
    expect(ownJsonLog({ Type: "json-file", Config: {} }, "")).toBeUndefined();
  });
});
