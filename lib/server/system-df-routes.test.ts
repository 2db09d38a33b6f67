import type { H3 } from "h3";
import { beforeAll, describe, expect, it } from "vitest";
import type { ReplayRunner } from "../runner/replay.ts";
import { replayApp, send } from "../testing/replay-app.ts";

let app: H3;
let runner: ReplayRunner;
beforeAll(async () => {
  ({ app, runner } = await replayApp("system-df"));
});

interface DiskUsage {
  LayersSize: number;
  Images: { Id: string; RepoTags: string[]; Containers: number; Size: number; SharedSize: number; VirtualSize: number }[] | null;
  Containers: { Id: string; Names: string[]; ImageID: string; State: string; SizeRw: number; SizeRootFs: number; Mounts: { Name?: string }[] }[] | null;
  Volumes: { Name: string; UsageData: { Size: number; RefCount: number } }[] | null;
  BuildCache: { ID: string; Type: string; Description: string; Size: number; InUse: boolean; Shared: boolean; CreatedAt: string; LastUsedAt: string; UsageCount: number }[] | null;
}

async function diskUsage(query = ""): Promise<{ status: number; body: DiskUsage; calls: number }> {
  const before = runner.calls.length;
  const response = await send(app, `/v1.43/system/df${query}`);
  return { status: response.status, body: (await response.json()) as DiskUsage, calls: runner.calls.length - before };
}

describe("GET /system/df", () => {
  it("lists images with the containers using them, containers with their sizes, volumes with theirs, and the build cache", async () => {
    const { status, body } = await diskUsage();
    expect(status).toBe(200);
    const containers = body.Containers!;
    expect(containers.map((container) => container.Names[0]).sort()).toEqual(
      expect.arrayContaining(["/done", "/fresh", "/web"]),
    );
    for (const container of containers) {
      expect(container.SizeRw).toBeGreaterThan(0);
      expect(container.SizeRootFs).toBeGreaterThan(container.SizeRw);
    }

    const busybox = body.Images!.find((image) => image.RepoTags.includes("busybox:latest"))!;
    expect(busybox.Containers).toBe(containers.filter((container) => container.ImageID === busybox.Id).length);
    expect(busybox.Containers).toBeGreaterThanOrEqual(3);
    for (const image of body.Images!) {
      expect(image.SharedSize).toBeGreaterThanOrEqual(0);
      expect(image.VirtualSize).toBe(image.Size);
      if (image.Id !== busybox.Id) expect(image.Containers).toBe(0);
    }
    // Nothing is shared between these images: every layer counts once.
    expect(body.LayersSize).toBe(body.Images!.reduce((sum, image) => sum + image.Size, 0));

    const volumes = Object.fromEntries(body.Volumes!.map((volume) => [volume.Name, volume.UsageData]));
    const mounting = (name: string) => containers.filter((container) => container.Mounts.some((mount) => mount.Name === name)).length;
    expect(volumes.data).toEqual({ Size: expect.any(Number), RefCount: mounting("data") });
    expect(volumes.data!.RefCount).toBe(1);
    // Unused volumes count no references (which ones exist depends on the scenarios before).
    for (const [name, usage] of Object.entries(volumes)) {
      if (mounting(name) === 0) expect(usage).toMatchObject({ RefCount: 0 });
    }

    expect(body.BuildCache!.length).toBeGreaterThan(0);
    const copy = body.BuildCache!.find((record) => record.Description.includes("COPY payload"))!;
    expect(copy).toMatchObject({ Type: "regular", InUse: false, Shared: false, UsageCount: 1 });
    expect(copy.Size).toBeGreaterThanOrEqual(64 * 1024);
    expect(Date.parse(copy.CreatedAt)).not.toBeNaN();
  });

  it("takes a fixed number of engine calls, whatever the numbers of objects", async () => {
    const { calls, body } = await diskUsage();
    expect(body.Containers!.length + body.Images!.length + body.Volumes!.length).toBeGreaterThan(10);
    expect(calls).toBeLessThanOrEqual(8);
  });

  it("computes only the types asked for", async () => {
    const { status, body, calls } = await diskUsage("?type=volume&type=build-cache");
    expect(status).toBe(200);
    expect(body.Images).toBeNull();
    expect(body.Containers).toBeNull();
    expect(body.LayersSize).toBe(0);
    expect(body.Volumes!.length).toBeGreaterThan(0);
    expect(body.BuildCache!.length).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(6);
  });

  it("refuses an unknown type with a 400 before anything runs", async () => {
    const before = runner.calls.length;
    const response = await send(app, "/v1.43/system/df?type=bogus");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: "unknown object type: bogus" });
    expect(runner.calls.length).toBe(before);
  });
});
