import { describe, expect, it } from "vitest";
import { createLogger, currentRequestId, inRequest, newRequestId, outsideRequest } from "./log.ts";

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

  it("gives every record made while a request is served, however deep, that request's id", async () => {
    const { lines, log } = capture("json");
    const id = newRequestId();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(newRequestId()).not.toBe(id);
    await inRequest(id, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      log.debug("exec nerdctl ps");
      setTimeout(() => log.debug("spawned nerdctl logs -> exit 0"), 0);
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    log("outside");
    expect(currentRequestId()).toBeUndefined();
    expect(lines.map((line) => (JSON.parse(line) as { request_id?: string }).request_id)).toEqual([id, id, undefined]);
  });
});

describe("what the daemon owns past a request", () => {
  it("logs as no request's when started outside it, even from inside one", async () => {
    const { lines, log } = capture("json");
    await inRequest("abc", async () => {
      outsideRequest(() => setTimeout(() => log("scheduled check"), 0));
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    expect(JSON.parse(lines[0]!)).not.toHaveProperty("request_id");
  });
});
