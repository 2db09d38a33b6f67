import { describe, expect, it } from "vitest";
import { createLogger, newRequestId } from "./log.ts";

const AT = new Date("2026-01-02T03:04:05.678Z");

function capture(format: "text" | "json") {
  const lines: string[] = [];
  return { lines, log: createLogger(format, (line) => lines.push(line), () => AT) };
}

describe("the log", () => {
  it("writes text as before: time, nerdctld:, the message, then fields as logfmt's key=value (quoted when they hold a space, = or \")", () => {
    const { lines, log } = capture("text");
    log("API listening on unix:///run/nerdctl.sock");
    log.debug("request", { method: "GET", path: "/v1.43/containers/json?all=1", status: 200, duration_ms: 3 });
    log.error("request", { error: 'No such container: "x y"' });
    expect(lines).toEqual([
      "2026-01-02T03:04:05.678Z nerdctld: API listening on unix:///run/nerdctl.sock\n",
      "2026-01-02T03:04:05.678Z nerdctld: request method=GET path=\"/v1.43/containers/json?all=1\" status=200 duration_ms=3\n",
      `2026-01-02T03:04:05.678Z nerdctld: request error=${JSON.stringify('No such container: "x y"')}\n`,
    ]);
  });

  it("writes JSON as one object per line: time, level, msg and the fields", () => {
    const { lines, log } = capture("json");
    log("started");
    log.warn("slow", { ms: 12, gone: undefined });
    expect(lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { time: "2026-01-02T03:04:05.678Z", level: "info", msg: "started" },
      { time: "2026-01-02T03:04:05.678Z", level: "warn", msg: "slow", ms: 12 },
    ]);
  });

  it("gives each request an id of its own, and a record the id it is given", () => {
    const { lines, log } = capture("json");
    const ids = Array.from({ length: 2_000 }, newRequestId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    log.debug("exec nerdctl ps", { request_id: ids[0] });
    log("the daemon's own");
    expect(lines.map((line) => (JSON.parse(line) as { request_id?: string }).request_id)).toEqual([ids[0], undefined]);
  });
});
