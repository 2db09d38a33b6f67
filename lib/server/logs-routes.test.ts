import { beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import { frames } from "../docker/stdcopy.ts";
import type { ReplayRunner } from "../runner/replay.ts";
import { replayApp, send } from "../testing/replay-app.ts";

let app: H3;
let runner: ReplayRunner;
beforeAll(async () => {
  ({ app, runner } = await replayApp("logs"));
});

async function body(path: string) {
  const response = await send(app, path);
  return { response, data: Buffer.from(await response.arrayBuffer()) };
}

describe("GET /containers/{id}/logs", () => {
  it("multiplexes stdout and stderr into stdcopy frames", async () => {
    const { response, data } = await body("/v1.43/containers/chatty/logs?stdout=1&stderr=1");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/vnd.docker.multiplexed-stream");
    const byStream = { 1: "", 2: "" } as Record<number, string>;
    for (const { stream, payload } of frames(data)) byStream[stream] += payload.toString();
    expect(byStream).toEqual({ 1: "out1\nout2\nout3\n", 2: "err1\nerr2\nerr3\n" });
  });

  it("drops the streams the client did not ask for, and passes tail and timestamps", async () => {
    const { data } = await body("/v1.43/containers/chatty/logs?stdout=1&tail=1&timestamps=1");
    // The last line is out3 or err3 (the container wrote both at once): only a stdout one may come through.
    const sent = [...frames(data)];
    expect(sent.length).toBeLessThanOrEqual(1);
    for (const { stream, payload } of sent) {
      expect(stream).toBe(1);
      expect(payload.toString()).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z out3\n$/);
    }
    expect(runner.calls.at(-1)?.args).toEqual(["logs", "--timestamps", "--tail=1", "--", "chatty"]);
  });

  it.each(["-1", "all", "--help", ""])("reads tail=%j as all the lines, as dockerd does", async (tail) => {
    await body(`/v1.43/containers/chatty/logs?stdout=1&tail=${encodeURIComponent(tail)}`);
    expect(runner.calls.at(-1)?.args).toEqual(["logs", "--", "chatty"]);
  });

  it("sends a terminal's output raw, without frames", async () => {
    const { response, data } = await body("/v1.41/containers/tty/logs?stdout=1&stderr=1");
    expect(response.headers.get("content-type")).toBe("application/vnd.docker.raw-stream");
    expect(data.toString()).toBe("hello from a terminal\r\n");
  });

  it("answers 404 for an unknown container before streaming", async () => {
    const response = await send(app, "/v1.43/containers/nosuch/logs?stdout=1");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "No such container: nosuch" });
  });

  it.each([
    ["no stream asked for", "stdout=0&stderr=0", /you must choose at least one stream/],
    ["a since that is not a time", "stdout=1&since=-1h", /invalid since/],
  ])("refuses %s with a 400 before nerdctl runs", async (_label, query, message) => {
    const before = runner.calls.length;
    const response = await send(app, `/v1.43/containers/chatty/logs?${query}`);
    expect(runner.calls.length).toBe(before);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
  });
});
