import { describe, expect, it } from "vitest";
import { Filters, parseFilterTime, parseGoDuration } from "./filters.ts";

describe("Filters", () => {
  it("reads the list form and the older boolean-map form alike", () => {
    const list = Filters.parse('{"label":["a=b"],"dangling":["true"]}', ["label", "dangling"]);
    const map = Filters.parse('{"label":{"a=b":true},"dangling":{"true":true}}', ["label", "dangling"]);
    for (const filters of [list, map]) {
      expect(filters.values("label")).toEqual(["a=b"]);
      expect(filters.bool("dangling")).toBe(true);
    }
  });

  it("refuses unknown keys and malformed input with Docker's 400", () => {
    expect(() => Filters.parse('{"nope":["x"]}', ["label"])).toThrow(expect.objectContaining({ kind: "invalid-parameter", message: "invalid filter 'nope'" }));
    expect(() => Filters.parse("{", ["label"])).toThrow(expect.objectContaining({ kind: "invalid-parameter", message: "invalid filter" }));
    expect(() => Filters.parse('{"label":[1]}', ["label"])).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
    expect(() => Filters.parse('["label"]', ["label"])).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
    expect(() => Filters.parse('{"dangling":["maybe"]}', ["dangling"]).bool("dangling")).toThrow(
      expect.objectContaining({ kind: "invalid-parameter", message: "invalid filter 'dangling=[maybe]'" }),
    );
  });

  it("reads dangling as dockerd's GetBoolOrDefault does: exact words, no contradictions", () => {
    const bool = (raw: string) => Filters.parse(raw, ["dangling"]).bool("dangling");
    expect(bool("")).toBeUndefined();
    expect(bool('{"dangling":["1"]}')).toBe(true);
    expect(bool('{"dangling":["0"]}')).toBe(false);
    expect(bool('{"dangling":{"false":true}}')).toBe(false);
    expect(() => bool('{"dangling":["true","false"]}')).toThrow(
      expect.objectContaining({ kind: "invalid-parameter", message: "invalid filter 'dangling=[false true]'" }),
    );
    expect(() => bool('{"dangling":[]}')).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
    expect(() => bool('{"dangling":["TRUE"]}')).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
  });

  it("matches names by equality or regular expression, as dockerd does", () => {
    const filters = Filters.parse('{"name":["^web"]}', ["name"]);
    expect(filters.match("name", "web-1")).toBe(true);
    expect(filters.match("name", "my-web")).toBe(false);
    expect(Filters.none.match("name", "anything")).toBe(true);
  });

  it("matches a name too long to compile as a regular expression by equality only", () => {
    const long = "A".repeat(65_536);
    const filters = Filters.parse(JSON.stringify({ name: [long] }), ["name"]);
    expect(filters.match("name", "web")).toBe(false);
    expect(filters.match("name", long)).toBe(true);
  });

  it("needs every label filter to hold", () => {
    const filters = Filters.parse('{"label":["app","tier=db"]}', ["label"]);
    expect(filters.matchLabels({ app: "x", tier: "db" })).toBe(true);
    expect(filters.matchLabels({ app: "x", tier: "web" })).toBe(false);
    expect(filters.matchLabels({ tier: "db" })).toBe(false);
    expect(filters.matchLabels({})).toBe(false);
  });

  it("adds values for older parameters (the pre-1.41 `filter`)", () => {
    const filters = Filters.none.with("reference", "busy*");
    expect(filters.values("reference")).toEqual(["busy*"]);
    expect(filters.contains("reference")).toBe(true);
    expect(Filters.none.contains("reference")).toBe(false);
  });
});

describe("filter times (until)", () => {
  const now = Date.parse("2025-06-01T12:00:00Z");

  it("reads Go durations back from now", () => {
    expect(parseGoDuration("1h30m")).toBe(90 * 60_000);
    expect(parseGoDuration("1.5s")).toBe(1500);
    expect(parseGoDuration("10")).toBeUndefined();
    expect(parseFilterTime("10m", now)).toBe(now - 600_000);
  });

  it("reads RFC 3339 times, dates and Unix seconds", () => {
    expect(parseFilterTime("2024-01-01T00:00:00Z", now)).toBe(Date.parse("2024-01-01T00:00:00Z"));
    expect(parseFilterTime("2024-01-01T00:00:00+02:00", now)).toBe(Date.parse("2023-12-31T22:00:00Z"));
    expect(parseFilterTime("2024-01-01", now)).toBe(new Date(2024, 0, 1).getTime());
    expect(parseFilterTime("1700000000", now)).toBe(1_700_000_000_000);
    expect(parseFilterTime("1700000000.5", now)).toBe(1_700_000_000_500);
  });

  it("refuses anything else with dockerd's message", () => {
    for (const value of ["xyz", "2024-13-45", "--help", "1h-"]) {
      expect(() => parseFilterTime(value, now)).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
    }
    expect(() => parseFilterTime("xyz", now)).toThrow('failed to parse value as time or duration: "xyz"');
  });
});
