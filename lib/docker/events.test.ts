import { describe, expect, it } from "vitest";
import { encodeEvent, eventMatches, makeEvent, parseEventFilters, parseEventQuery, parseEventTime } from "./events.ts";

describe("the event document", () => {
  it("is written as dockerd writes it: field order, sorted attributes, exact timeNano", () => {
    const event = makeEvent("container", "die", { ID: "abc", Attributes: { name: "web", exitCode: "0", image: "busybox" } }, 1_795_416_314_999_999_999n);
    expect(encodeEvent(event)).toBe(
      '{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"0","image":"busybox","name":"web"}},"scope":"local","time":1795416314,"timeNano":1795416314999999999}\n',
    );
    expect(encodeEvent(makeEvent("volume", "create", { ID: "v", Attributes: { driver: "local" } }, 1n))).toBe(
      '{"Type":"volume","Action":"create","Actor":{"ID":"v","Attributes":{"driver":"local"}},"scope":"local","time":0,"timeNano":1}\n',
    );
  });
});

describe("since, until and filters", () => {
  it("reads Unix seconds with a fraction as nanoseconds, and dates and durations too", () => {
    expect(parseEventTime("1700000000", "since")).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime("1700000000.5", "since")).toBe(1_700_000_000_500_000_000n);
    expect(parseEventTime("1700000000.000000001", "until")).toBe(1_700_000_000_000_000_001n);
    expect(parseEventTime("", "since")).toBeUndefined();
    expect(parseEventTime("10m", "since", 1_700_000_600_000)).toBe(1_700_000_000_000_000_000n);
    expect(parseEventTime("2023-11-14T22:13:20Z", "since")).toBe(1_700_000_000_000_000_000n);
  });

  it.each([
    [{ since: "abc" }, /invalid since/],
    [{ since: "10", until: "5" }, /`since` time \(10\) cannot be after `until` time \(5\)/],
    [{ filters: "nojson" }, /invalid filter/],
    [{ filters: '{"type":"container"}' }, /invalid filter/],
  ])("refuses %j with a 400", (query, message) => {
    let caught: { kind?: string; message?: string } | undefined;
    try {
      parseEventQuery(query);
    } catch (error) {
      caught = error as { kind: string; message: string };
    }
    expect(caught?.kind).toBe("invalid-parameter");
    expect(caught?.message).toMatch(message);
  });

  const container = makeEvent("container", "start", { ID: "4c585e0958d1aaaa", Attributes: { name: "web", image: "busybox:latest", app: "demo" } }, 1n);
  const image = makeEvent("image", "tag", { ID: "sha256:bba8", Attributes: { name: "busybox:t2" } }, 1n);
  const volume = makeEvent("volume", "create", { ID: "data", Attributes: { driver: "local" } }, 1n);
  const exec = makeEvent("container", "exec_create", { ID: "4c585e0958d1aaaa", Attributes: { name: "web", execID: "x" } }, 1n);
  const matching = (filters: Record<string, string[]>) =>
    [container, image, volume, exec].filter((event) => eventMatches(parseEventFilters(JSON.stringify(filters)), event)).map((event) => `${event.Type} ${event.Action}`);

  it.each([
    [{}, ["container start", "image tag", "volume create", "container exec_create"]],
    [{ type: ["container"] }, ["container start", "container exec_create"]],
    [{ type: ["container"], event: ["start"] }, ["container start"]],
    [{ event: ["exec_create"] }, ["container exec_create"]],
    [{ container: ["web"] }, ["container start", "container exec_create"]],
    [{ container: ["4c585e"] }, ["container start", "container exec_create"]],
    [{ container: ["nosuch"] }, []],
    [{ image: ["busybox"] }, ["container start", "image tag"]],
    [{ image: ["busybox:t2"] }, ["image tag"]],
    [{ label: ["app=demo"] }, ["container start"]],
    [{ label: ["app"] }, ["container start"]],
    [{ volume: ["data"] }, ["volume create"]],
    [{ network: ["bridge"] }, []],
    [{ daemon: ["x"] }, []],
    [{ scope: ["local"] }, ["container start", "image tag", "volume create", "container exec_create"]],
    [{ scope: ["swarm"] }, []],
    // dockerd accepts keys it does not know, and they select nothing away.
    [{ bogus: ["x"] }, ["container start", "image tag", "volume create", "container exec_create"]],
  ])("filters %j", (filters, expected) => {
    expect(matching(filters)).toEqual(expected);
  });
});
