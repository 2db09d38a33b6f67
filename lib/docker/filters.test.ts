import { describe, expect, it } from "vitest";
import { Filters } from "./filters.ts";

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
    expect(() => Filters.parse('{"nope":["x"]}', ["label"])).toThrow(expect.objectContaining({ status: 400, message: "invalid filter 'nope'" }));
    expect(() => Filters.parse("{", ["label"])).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => Filters.parse('{"label":[1]}', ["label"])).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => Filters.parse('{"dangling":["maybe"]}', ["dangling"]).bool("dangling")).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });

  it("matches names by equality or regular expression, as dockerd does", () => {
    const filters = Filters.parse('{"name":["^web"]}', ["name"]);
    expect(filters.match("name", "web-1")).toBe(true);
    expect(filters.match("name", "my-web")).toBe(false);
    expect(Filters.none.match("name", "anything")).toBe(true);
  });

  it("needs every label filter to hold", () => {
    const filters = Filters.parse('{"label":["app","tier=db"]}', ["label"]);
    expect(filters.matchLabels({ app: "x", tier: "db" })).toBe(true);
    expect(filters.matchLabels({ app: "x", tier: "web" })).toBe(false);
    expect(filters.matchLabels({ tier: "db" })).toBe(false);
  });
});
