import { beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import type { SystemInfo, SystemVersion } from "../docker/types.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { replayApp, send } from "../testing/replay-app.ts";
import type { ReplayRunner } from "../runner/replay.ts";

let app: H3;
let runner: ReplayRunner;
beforeAll(async () => {
  ({ app, runner } = await replayApp("system"));
});

describe("GET and HEAD /_ping", () => {
  it("answers OK with the headers clients negotiate on", async () => {
    const response = await send(app, "/_ping");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("OK");
    expect(Object.fromEntries(response.headers)).toMatchObject({
      "api-version": "1.43",
      ostype: "linux",
      "docker-experimental": "false",
      "builder-version": "1",
      "cache-control": "no-cache, no-store, must-revalidate",
      pragma: "no-cache",
    });
  });

  it("answers HEAD with the same headers and no body", async () => {
    const response = await send(app, "/v1.41/_ping", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("api-version")).toBe("1.43");
    expect(await response.text()).toBe("");
  });
});

describe("GET /version", () => {
  it("reports the engine's parts as components, in Docker's shape", async () => {
    const response = await send(app, "/v1.43/version");
    expect(response.status).toBe(200);
    const body = (await response.json()) as SystemVersion;
    expect(schemaViolations("GET", "/version", 200, body)).toEqual([]);
    expect(body.ApiVersion).toBe("1.43");
    expect(body.MinAPIVersion).toBe("1.24");
    const components = Object.fromEntries(body.Components.map((part) => [part.Name, part.Version]));
    expect(components).toMatchObject({ Engine: "0.0.0-test", containerd: "2.3.3", runc: "1.5.1", buildkit: "v0.31.2", nerdctl: "v2.3.5" });
  });
});

describe("GET /info", () => {
  // The engine was prepared with one `nerdctl load`, which (nerdctl 2.3) leaves two image records:
  // busybox:latest and an untagged import@<index digest>; dockerd's count is of image records too.
  it("reports real counts: one running, two stopped containers, two images", async () => {
    const response = await send(app, "/v1.41/info");
    expect(response.status).toBe(200);
    const body = (await response.json()) as SystemInfo;
    expect(schemaViolations("GET", "/info", 200, body)).toEqual([]);
    expect([body.Containers, body.ContainersRunning, body.ContainersPaused, body.ContainersStopped]).toEqual([3, 1, 0, 2]);
    expect(body.Images).toBe(2);
    expect(body.Driver).toBe("overlayfs");
    expect(body.CgroupVersion).toBe("1");
    expect(body.IndexServerAddress).toBe("https://index.docker.io/v1/");
    expect(body.ContainerdCommit.ID).toBe("2.3.3");
  });

  it("makes four engine calls, none of them per item", async () => {
    const before = runner.calls.length;
    await send(app, "/info");
    expect(runner.calls.length - before).toBe(4);
  });
});

describe("everything else", () => {
  it("answers a Docker API operation nerdctld lacks with a 501 naming it", async () => {
    const response = await send(app, "/v1.43/plugins/pull", { method: "POST" });
    expect(response.status).toBe(501);
    expect(await response.json()).toEqual({
      message: "POST /plugins/pull is not implemented by nerdctld (Docker API operation POST /plugins/pull)",
    });
  });

  it("answers an unknown path like dockerd", async () => {
    const response = await send(app, "/v1.43/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "page not found" });
  });

  it("refuses versions outside 1.24–1.43 before routing", async () => {
    const response = await send(app, "/v1.44/version");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: "client version 1.44 is too new. Maximum supported API version is 1.43" });
    expect(response.headers.get("api-version")).toBe("1.43");
  });

  it("reports an engine call nobody recorded as a 500 naming it, so a test cannot pass by accident", async () => {
    const { app: empty } = await replayApp("failures");
    const response = await send(empty, "/version");
    expect(response.status).toBe(500);
    expect(((await response.json()) as { message: string }).message).toMatch(/^no recorded fixture for: nerdctl version/);
  });
});

describe("the namespace header", () => {
  it("serves a request in the namespace it names", async () => {
    const { app: k8s } = await replayApp("system-k8s");
    const response = await send(k8s, "/info", { headers: { "X-Containerd-Namespace": "k8s.io" } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as SystemInfo;
    expect([body.Containers, body.Images]).toEqual([0, 2]);
  });

  it.each(["--help", "../x", "k8s io", "a".repeat(77)])("refuses %j as a namespace with a 400", async (namespace) => {
    const response = await send(app, "/info", { headers: { "X-Containerd-Namespace": namespace } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/^invalid containerd namespace/);
  });
});

describe("what a single engine does not have", () => {
  it("answers swarm operations as dockerd does outside a swarm (503)", async () => {
    for (const path of ["/v1.43/nodes", "/v1.43/services/x", "/v1.43/swarm", "/v1.43/secrets", "/v1.43/configs/y", "/v1.43/tasks"]) {
      const response = await send(app, path);
      expect(response.status, path).toBe(503);
      expect(((await response.json()) as { message: string }).message).toMatch(/^This node is not a swarm manager/);
    }
  });

  it("lists no plugins and finds none", async () => {
    expect(await (await send(app, "/v1.43/plugins")).json()).toEqual([]);
    const response = await send(app, "/v1.43/plugins/nosuch/json");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'plugin "nosuch" not found' });
  });
});
