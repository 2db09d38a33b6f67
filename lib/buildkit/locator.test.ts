import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeBuildkitd, type FakeBuildkitd } from "../testing/fake-buildkitd.ts";
import { BuildkitLocator } from "./locator.ts";

let dir: string;
let daemons: FakeBuildkitd[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nerdctld-locator-"));
  daemons = [];
});

afterEach(async () => {
  await Promise.all(daemons.map((daemon) => daemon.close()));
  await rm(dir, { recursive: true, force: true });
});

async function buildkitdAt(path: string, namespace: string): Promise<FakeBuildkitd> {
  await mkdir(join(path, ".."), { recursive: true });
  const daemon = await startFakeBuildkitd(path, namespace);
  daemons.push(daemon);
  return daemon;
}

describe("BuildkitLocator", () => {
  it("looks where nerdctl looks: the namespace's buildkitd, then buildkit-default, then buildkit", () => {
    const locator = new BuildkitLocator({ runDir: "/run" });
    expect(locator.candidates("k8s.io")).toEqual([
      "/run/buildkit-k8s.io/buildkitd.sock",
      "/run/buildkit-default/buildkitd.sock",
      "/run/buildkit/buildkitd.sock",
    ]);
    expect(locator.candidates("default")).toEqual(["/run/buildkit-default/buildkitd.sock", "/run/buildkit/buildkitd.sock"]);
    expect(new BuildkitLocator({ runDir: "/run", buildkitHost: "unix:///x/b.sock" }).candidates("k8s.io")).toEqual(["/x/b.sock"]);
  });

  it("finds the buildkitd whose containerd worker builds into the namespace", async () => {
    await buildkitdAt(join(dir, "buildkit", "buildkitd.sock"), "default");
    const ownOfK8s = await buildkitdAt(join(dir, "buildkit-k8s.io", "buildkitd.sock"), "k8s.io");
    const locator = new BuildkitLocator({ runDir: dir });
    expect(await locator.find("default")).toMatchObject({ socket: join(dir, "buildkit", "buildkitd.sock") });
    expect(await locator.find("k8s.io")).toMatchObject({ socket: ownOfK8s.socket });
  });

  it("says why a namespace has none: another namespace's worker, or no buildkitd answering", async () => {
    await buildkitdAt(join(dir, "buildkit", "buildkitd.sock"), "default");
    const locator = new BuildkitLocator({ runDir: dir });
    expect(await locator.find("k8s.io")).toEqual({
      unavailable: `buildkitd on ${join(dir, "buildkit", "buildkitd.sock")} builds into containerd namespace default, not k8s.io`,
    });
    const nowhere = new BuildkitLocator({ runDir: join(dir, "empty") });
    expect(await nowhere.find("default")).toMatchObject({ unavailable: expect.stringMatching(/^no buildkitd answers/) });
  });

  it("asks a buildkitd for its workers once, and again once it has gone and come back", async () => {
    const path = join(dir, "buildkit", "buildkitd.sock");
    const first = await buildkitdAt(path, "default");
    const locator = new BuildkitLocator({ runDir: dir });
    await locator.find("default");
    await locator.find("default");
    expect(first.calls.filter((call) => call.path.endsWith("/ListWorkers"))).toHaveLength(1);
    await first.close();
    expect(await locator.find("default")).toMatchObject({ unavailable: expect.any(String) });
    const second = await buildkitdAt(path, "k8s.io");
    expect(await locator.find("default")).toMatchObject({ unavailable: expect.stringMatching(/namespace k8s\.io, not default/) });
    expect(second.calls.filter((call) => call.path.endsWith("/ListWorkers"))).toHaveLength(1);
  });

  it("answers from a find less than the given age old, and finds again after it", async () => {
    const path = join(dir, "buildkit", "buildkitd.sock");
    const buildkitd = await buildkitdAt(path, "default");
    const locator = new BuildkitLocator({ runDir: dir });
    expect(await locator.findRecent("default", 60_000)).toMatchObject({ socket: path });
    await buildkitd.close();
    expect(await locator.findRecent("default", 60_000)).toMatchObject({ socket: path });
    expect(await locator.findRecent("default", 0)).toMatchObject({ unavailable: expect.any(String) });
  });
});
