import { beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import type { ContainerSummary } from "../docker/container-types.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { replayApp, send } from "../testing/replay-app.ts";

let files: H3;
let prune: H3;
beforeAll(async () => {
  ({ app: files } = await replayApp("containers-files"));
  ({ app: prune } = await replayApp("containers-prune"));
});

describe("a container's filesystem", () => {
  it("GET /containers/{id}/changes lists what changed, with Docker's kinds", async () => {
    const response = await send(files, "/v1.43/containers/writer/changes");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { Path: string; Kind: number }[];
    expect(schemaViolations("GET", "/containers/{id}/changes", 200, body)).toEqual([]);
    expect(body).toEqual(expect.arrayContaining([{ Path: "/etc/group", Kind: 2 }, { Path: "/root/note", Kind: 1 }, { Path: "/etc", Kind: 0 }]));
    expect(body.some((change) => change.Path === "/")).toBe(false);
  });

  it("GET /containers/{id}/changes answers 404 for an unknown container", async () => {
    const response = await send(files, "/v1.43/containers/nosuch/changes");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "No such container: nosuch" });
  });

  it("GET /containers/{id}/export streams the filesystem as a tar", async () => {
    const response = await send(files, "/v1.43/containers/writer/export");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-tar");
    const data = Buffer.from(await response.arrayBuffer());
    // A ustar header: a name, then "ustar" at offset 257.
    expect(data.subarray(257, 262).toString()).toBe("ustar");
  });

  it("GET /containers/json?size=1 adds SizeRw and SizeRootFs", async () => {
    const response = await send(files, "/v1.43/containers/json?all=1&size=1");
    const body = (await response.json()) as ContainerSummary[];
    const writer = body.find((container) => container.Names[0] === "/writer")!;
    expect(writer.SizeRw).toBeGreaterThan(0);
    expect(writer.SizeRootFs).toBeGreaterThan(writer.SizeRw!);
  });
});

describe("POST /containers/prune", () => {
  it("removes the stopped containers the filters select and reports what it freed", async () => {
    const filters = encodeURIComponent('{"label":["purpose=prune"]}');
    const response = await send(prune, `/v1.43/containers/prune?filters=${filters}`, { method: "POST" });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { ContainersDeleted: string[]; SpaceReclaimed: number };
    expect(schemaViolations("POST", "/containers/prune", 200, body)).toEqual([]);
    expect(body.ContainersDeleted).toHaveLength(1);
    expect(body.ContainersDeleted[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(body.SpaceReclaimed).toBeGreaterThan(0);
  });
});
