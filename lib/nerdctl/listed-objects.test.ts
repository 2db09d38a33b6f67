import { describe, expect, it } from "vitest";
import type { Fixture } from "../runner/fixture.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { Nerdctl } from "./client.ts";
import { containerSizes, imageIdentities, inspectContainers } from "./containers.ts";
import { inspectVolumes } from "./volumes.ts";

/*
 * One object of a listing that cannot be read (removed since it was listed, or
 * unreadable) does not fail the listing. nerdctl's answers below are worded as
 * nerdctl 2.3 words them (fixtures/failures, and its `%d errors:` wrapper).
 */

const ID = (digit: string) => digit.repeat(64);

function answers(...calls: { args: string[]; stdout?: string; stderr?: string; exitCode?: number }[]) {
  const fixtures: Fixture[] = calls.map((call) => ({
    program: "nerdctl",
    args: call.args,
    stdout: call.stdout ?? "",
    stderr: call.stderr ?? "",
    exitCode: call.exitCode ?? 0,
    versions: {},
  }));
  const runner = new ReplayRunner(fixtures);
  return { nerdctl: new Nerdctl(runner), runner };
}

const fatal = (message: string) => `time="2026-01-01T00:00:00Z" level=fatal msg=${JSON.stringify(message)}\n`;

describe("a listing's reads of the objects it named", () => {
  it("leaves out the containers removed between the listing and their inspection", async () => {
    const { nerdctl, runner } = answers(
      {
        args: ["container", "inspect", "--", ID("a"), ID("b"), ID("c")],
        stderr: fatal(`2 errors:\nno such container: ${ID("a")}\nno such container: ${ID("c")}`),
        exitCode: 1,
      },
      { args: ["container", "inspect", "--", ID("b")], stdout: JSON.stringify([{ Id: ID("b") }]) },
    );
    expect(await inspectContainers(nerdctl, [ID("a"), ID("b"), ID("c")])).toEqual([{ Id: ID("b") }]);
    expect(runner.misses).toEqual([]);
  });

  it("asks nothing more when every container is gone, and still fails on anything else", async () => {
    const gone = answers({ args: ["container", "inspect", "--", ID("a")], stderr: fatal(`1 errors:\nno such container: ${ID("a")}`), exitCode: 1 });
    expect(await inspectContainers(gone.nerdctl, [ID("a")])).toEqual([]);
    expect(gone.runner.calls).toHaveLength(1);
    const broken = answers({ args: ["container", "inspect", "--", ID("a")], stderr: fatal("cannot access containerd"), exitCode: 1 });
    await expect(inspectContainers(broken.nerdctl, [ID("a")])).rejects.toThrow("cannot access containerd");
  });

  it("leaves out the image of a container removed since, in one more call", async () => {
    const identity = { Id: `sha256:${ID("1")}`, RepoTags: ["busybox:latest"], Config: {} };
    const { nerdctl, runner } = answers(
      {
        args: ["image", "inspect", "--format", "{{json .}}", "--", "docker.io/library/gone:1", "docker.io/library/busybox:latest"],
        stderr: fatal("1 errors:\nno such image: docker.io/library/gone:1"),
        exitCode: 1,
      },
      { args: ["image", "inspect", "--format", "{{json .}}", "--", "docker.io/library/busybox:latest"], stdout: `${JSON.stringify(identity)}\n` },
    );
    const found = await imageIdentities(nerdctl, ["docker.io/library/gone:1", "docker.io/library/busybox:latest"]);
    expect([...found.entries()]).toEqual([["docker.io/library/busybox:latest", identity]]);
    expect(runner.calls).toHaveLength(2);
  });

  it("keeps the volumes nerdctl could read, and leaves out one removed since", async () => {
    const { nerdctl } = answers({
      args: ["volume", "inspect", "--size", "--", "gone", "kept"],
      stdout: `${JSON.stringify([{ Name: "kept", Size: 4096 }])}\n`,
      stderr: 'time="2026-01-01T00:00:00Z" level=warning msg="volume-store error\\nnot found\\n\\"gone/volume.json\\" does not exist"\n' + fatal("some volumes could not be inspected"),
      exitCode: 1,
    });
    expect(await inspectVolumes(nerdctl, ["gone", "kept"], { size: true, listed: true })).toEqual([{ Name: "kept", Size: 4096 }]);
    await expect(inspectVolumes(nerdctl, ["gone", "kept"], { size: true })).rejects.toMatchObject({ kind: "not-found", message: "get gone: no such volume" });
  });

  it("lists containers without sizes when nerdctl cannot count one of them", async () => {
    const { nerdctl } = answers({
      args: ["ps", "--all", "--size", "--no-trunc", "--format", "{{.ID}}\t{{.Size}}"],
      stderr: fatal(`snapshot ${ID("d")} does not exist: not found`),
      exitCode: 1,
    });
    expect(await containerSizes(nerdctl)).toEqual(new Map());
  });
});
