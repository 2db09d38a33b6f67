import { beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import { replayApp, send } from "../testing/replay-app.ts";

let app: H3;
beforeAll(async () => {
  ({ app } = await replayApp("containers"));
});

const post = (path: string) => send(app, path, { method: "POST" });
const doneId = async () => ((await (await send(app, "/v1.43/containers/done/json")).json()) as { Id: string }).Id;

describe("what a container's state makes pointless or forbids", () => {
  it("answers 304 to stopping a container that is not running, and to starting one that is", async () => {
    const stop = await post("/v1.43/containers/done/stop");
    expect(stop.status, await stop.text()).toBe(304);
    expect((await post("/v1.43/containers/web/start")).status).toBe(304);
  });

  it("refuses to kill, pause or unpause a container in the wrong state, in dockerd's words", async () => {
    const id = await doneId();
    const kill = await post("/v1.43/containers/done/kill");
    expect(kill.status).toBe(409);
    expect(await kill.json()).toEqual({ message: `Cannot kill container: done: Container ${id} is not running` });
    expect((await post("/v1.43/containers/done/pause")).status).toBe(409);
    expect((await post("/v1.43/containers/web/unpause")).status).toBe(409);
  });

  it("removes a running container only with force", async () => {
    const response = await send(app, "/v1.43/containers/web", { method: "DELETE" });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { message: string }).message).toMatch(/^You cannot remove a running container [0-9a-f]{64}\. Stop the container before attempting removal or force remove$/);
  });

  it("answers a wait for a stopped container at once with its exit code", async () => {
    const response = await post("/v1.43/containers/done/wait");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ StatusCode: 0 });
  });

  it("answers 404 for a container that does not exist, before anything else", async () => {
    for (const verb of ["start", "stop", "kill", "pause", "wait", "attach"]) {
      const response = await post(`/v1.43/containers/nosuch/${verb}`);
      expect(response.status, verb).toBe(404);
      expect(await response.json()).toEqual({ message: "No such container: nosuch" });
    }
  });

  it("checks parameters before the engine is asked", async () => {
    expect((await post("/v1.43/containers/web/kill?signal=NOPE")).status).toBe(400);
    expect((await post("/v1.43/containers/web/wait?condition=sometime")).status).toBe(400);
    expect((await post("/v1.43/containers/web/rename?name=--privileged")).status).toBe(400);
    expect((await post("/v1.43/containers/web/rename")).status).toBe(400);
    const update = await send(app, "/v1.43/containers/web/update", { method: "POST", body: JSON.stringify({ Ulimits: [{ Name: "nofile", Soft: 1, Hard: 1 }] }) });
    expect(update.status).toBe(400);
    expect(await update.json()).toEqual({ message: "Ulimits cannot be updated on this engine" });
  });
});
