// The shape differ and the baseline bookkeeping of the parity suite: it must see every kind of
// difference (or the suite could never fail), and its report must not change between equal runs.
import { describe, expect, it } from "vitest";
import {
  classify,
  compareCheck,
  diffShapes,
  renderReport,
  shapeOf,
  type Baseline,
  type CheckResult,
  type Difference,
  type Observation,
} from "./parity.ts";

const ok = (body: unknown, headers: Record<string, string> = {}): Observation => ({ status: 200, headers, text: JSON.stringify(body) });

describe("shapeOf", () => {
  it("names JSON types, null for null", () => {
    expect([null, true, 1.5, "x", [], {}].map(shapeOf)).toEqual(["null", "boolean", "number", "string", "array", "object"]);
  });
});

describe("diffShapes", () => {
  it("finds nothing between documents of the same shape, whatever their values", () => {
    expect(diffShapes({ a: 1, b: "x", c: [{ d: true }] }, { a: 2, b: "y", c: [{ d: false }, { e: 1 }] })).toEqual([]);
  });

  it("reports a field nerdctld lacks, one it adds, and one with another type", () => {
    expect(diffShapes({ Kept: 1, Gone: { Deep: 1 }, Typed: "1" }, { Kept: 2, Added: [], Typed: 1 })).toEqual([
      { path: "Added", kind: "extra", dockerd: "absent", nerdctld: "array" },
      { path: "Gone", kind: "missing", dockerd: "object", nerdctld: "absent" },
      { path: "Typed", kind: "type", dockerd: "string", nerdctld: "number" },
    ]);
  });

  it("reports null against a value as a type difference, and does not descend below it", () => {
    expect(diffShapes({ Warnings: null, Swarm: { A: 1 } }, { Warnings: [], Swarm: null })).toEqual([
      { path: "Swarm", kind: "type", dockerd: "object", nerdctld: "null" },
      { path: "Warnings", kind: "type", dockerd: "null", nerdctld: "array" },
    ]);
  });

  it("compares arrays by their first elements, at any depth, and skips empty ones", () => {
    expect(diffShapes([{ Id: "a", Names: ["x"] }], [{ Id: "b", Names: [1] }, { Other: 1 }])).toEqual([
      { path: "[].Names[]", kind: "type", dockerd: "string", nerdctld: "number" },
    ]);
    expect(diffShapes({ List: [] }, { List: [{ Anything: 1 }] })).toEqual([]);
  });

  it("matches keyed arrays by key: components missing, added and differing", () => {
    const dockerd = { Components: [{ Name: "Engine", Details: { GitCommit: "x" } }, { Name: "docker-init", Version: "1" }] };
    const nerdctld = { Components: [{ Name: "Engine", Details: {} }, { Name: "buildkit", Version: "1" }] };
    expect(diffShapes(dockerd, nerdctld, { keyedArrays: { Components: "Name" } })).toEqual([
      { path: "Components[Name=buildkit]", kind: "extra", dockerd: "absent", nerdctld: "object" },
      { path: "Components[Name=docker-init]", kind: "missing", dockerd: "object", nerdctld: "absent" },
      { path: "Components[Name=Engine].Details.GitCommit", kind: "missing", dockerd: "string", nerdctld: "absent" },
    ]);
  });

  it("pairs list elements by key: compares every pair, skips unpaired elements, dedupes", () => {
    const options = { matchElementsBy: { "": "Names.0" } };
    const dockerd = [{ Names: ["/other"], Only: 1 }, { Names: ["/web"], Labels: null }, { Names: ["/done"], Labels: null }];
    const nerdctld = [{ Names: ["/done"], Labels: {} }, { Names: ["/web"], Labels: { a: "1" } }, { Names: ["/mine"] }];
    expect(diffShapes(dockerd, nerdctld, options)).toEqual([{ path: "[].Labels", kind: "type", dockerd: "null", nerdctld: "object" }]);
    // Nothing in common: back to the first elements.
    expect(diffShapes([{ Names: ["/a"], X: 1 }], [{ Names: ["/b"] }], options)).toEqual([
      { path: "[].X", kind: "missing", dockerd: "number", nerdctld: "absent" },
    ]);
  });

  it("compares maps keyed by names by their values, not their keys", () => {
    const dockerd = { Runtimes: { runc: { path: "runc" }, "io.containerd.runc.v2": { path: "runc" } }, Labels: { a: "1" } };
    expect(diffShapes(dockerd, { Runtimes: { crun: { path: "crun" } }, Labels: {} })).toEqual([]);
    expect(diffShapes(dockerd, { Runtimes: { crun: { path: 1 } }, Labels: { b: "2" } })).toEqual([
      { path: "Runtimes.*.path", kind: "type", dockerd: "string", nerdctld: "number" },
    ]);
    // A field that is a map elsewhere is compared as fields where it is a count.
    expect(diffShapes({ Containers: 3 }, { Containers: "3" })).toEqual([
      { path: "Containers", kind: "type", dockerd: "number", nerdctld: "string" },
    ]);
  });
});

describe("compareCheck", () => {
  const json = (dockerd: Observation, nerdctld: Observation): CheckResult => ({ check: "GET /x", compare: "json", dockerd, nerdctld });

  it("names an endpoint nerdctld answers 501 as not implemented, other failures as status", () => {
    const notImplemented = { status: 501, headers: {}, text: '{"message":"not implemented"}' };
    expect(compareCheck(json(ok({ a: 1 }), notImplemented))).toEqual([
      { check: "GET /x", path: "", kind: "not-implemented", dockerd: "200", nerdctld: "501" },
    ]);
    expect(compareCheck(json(ok({ a: 1 }), { status: 1, headers: {}, text: "Error" }))[0]?.kind).toBe("status");
  });

  it("refuses to compare when dockerd itself failed", () => {
    expect(() => compareCheck(json({ status: 500, headers: {}, text: "boom" }, ok({})))).toThrow(/dockerd answered 500/);
  });

  it("compares /_ping by header names, the values clients act on, and the body", () => {
    const dockerd = { status: 200, headers: { "api-version": "1.41", "builder-version": "2", server: "Docker", date: "now" }, text: "OK" };
    const nerdctld = { status: 200, headers: { "api-version": "1.43", "builder-version": "1", date: "later", "x-extra": "1" }, text: "OK" };
    expect(compareCheck({ check: "GET /_ping", compare: "ping", dockerd, nerdctld })).toEqual([
      { check: "GET /_ping", path: "builder-version", kind: "value", dockerd: "2", nerdctld: "1" },
      { check: "GET /_ping", path: "server", kind: "missing", dockerd: "string", nerdctld: "absent" },
      { check: "GET /_ping", path: "x-extra", kind: "extra", dockerd: "absent", nerdctld: "string" },
    ]);
  });
});

describe("classify and renderReport", () => {
  const differences: Difference[] = [
    { check: "GET /info", path: "Zeta", kind: "missing", dockerd: "string", nerdctld: "absent" },
    { check: "GET /info", path: "Alpha", kind: "extra", dockerd: "absent", nerdctld: "number" },
    { check: "GET /volumes", path: "", kind: "not-implemented", dockerd: "200", nerdctld: "501" },
  ];
  const baseline: Baseline = {
    reference: "dockerd 20.10",
    differences: [
      { check: "GET /volumes", path: "", kind: "not-implemented", reason: "not implemented yet" },
      { check: "GET /info", path: "Zeta", kind: "type", reason: "another kind: does not cover a missing Zeta" },
      { check: "GET /gone", path: "Old", kind: "missing", reason: "fixed since" },
    ],
  };

  it("accepts only exact (check, path, kind) matches; the rest is NEW, unmatched entries stale", () => {
    const result = classify(differences, baseline);
    expect(result.accepted.map((entry) => [entry.check, entry.path, entry.reason])).toEqual([["GET /volumes", "", "not implemented yet"]]);
    expect(result.fresh.map((entry) => entry.path)).toEqual(["Alpha", "Zeta"]);
    expect(result.stale.map((entry) => entry.check)).toEqual(["GET /gone", "GET /info"]);
  });

  it("writes the same report whatever order the differences came in", () => {
    const one = renderReport(classify(differences, baseline), "dockerd 20.10");
    const other = renderReport(classify([...differences].reverse(), baseline), "dockerd 20.10");
    expect(one).toBe(other);
    expect(one).toContain("Differences: 3 (1 accepted in `e2e/parity-baseline.json`, 2 NEW).");
    expect(one).toContain("| `Alpha` | extra | `absent` | `number` | **NEW** |");
    expect(one).toContain("| `(endpoint)` | not-implemented | `200` | `501` | accepted: not implemented yet |");
    expect(one.indexOf("## GET /info")).toBeLessThan(one.indexOf("## GET /volumes"));
    expect(one).toContain("- GET /gone `Old` missing");
    expect(one).not.toMatch(/\d{4}-\d{2}-\d{2}/);
  });
});
