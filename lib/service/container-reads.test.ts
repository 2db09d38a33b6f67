import { describe, expect, it } from "vitest";
import { Filters } from "../docker/filters.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import type { Command, CommandRunner, RunResult } from "../runner/types.ts";
import { containerList } from "./container-reads.ts";
import type { Scope } from "./scope.ts";
import { NamespaceState } from "./state/namespace-state.ts";

const BRIDGE_ID = "b".repeat(64);
const CUSTOM_ID = "c".repeat(64);

/** An engine answering the calls a container listing makes, and counting them. */
class ListingEngine implements CommandRunner {
  readonly containers: NerdctlContainerInspect[] = [];
  readonly calls: string[][] = [];

  put(name: string, network: string): string {
    const id = String(this.containers.length + 1).padStart(64, "0");
    this.containers.push({
      Id: id,
      Name: name,
      Created: "2026-01-01T00:00:00Z",
      Path: "sleep",
      Args: ["60"],
      Image: "docker.io/library/busybox:latest",
      State: { Status: "running", Running: true, Paused: false, Restarting: false, Pid: 1, ExitCode: 0, Error: "", StartedAt: "2026-01-01T00:00:00Z", FinishedAt: "" },
      HostConfig: {},
      Mounts: [],
      Config: { Image: "docker.io/library/busybox:latest", Labels: { "nerdctl/networks": JSON.stringify([network]) } },
    } as unknown as NerdctlContainerInspect);
    return id;
  }

  async run(command: Command): Promise<RunResult> {
    const args = [...command.args];
    this.calls.push(args);
    const ok = (stdout: string) => ({ stdout, stderr: "", exitCode: 0 });
    if (args[0] === "ps") return ok(this.containers.map((container) => container.Id).join("\n"));
    if (args[0] === "container") {
      const ids = args.slice(args.indexOf("--") + 1);
      return ok(JSON.stringify(this.containers.filter((container) => ids.includes(container.Id))));
    }
    if (args[0] === "image") return ok("");
    if (args.join(" ").startsWith("network ls")) return ok("bridge\ncustom\nhost\nnone");
    if (args.join(" ").startsWith("network inspect")) {
      return ok(JSON.stringify([{ CNI: { name: "bridge" }, NerdctlID: BRIDGE_ID }, { CNI: { name: "custom" }, NerdctlID: CUSTOM_ID }]));
    }
    throw new Error(`unexpected call: ${args.join(" ")}`);
  }

  spawn(): never {
    throw new Error("not used");
  }

  interactive(): never {
    throw new Error("not used");
  }

  networkCalls(): number {
    return this.calls.filter((args) => args[0] === "network").length;
  }
}

function setup() {
  const engine = new ListingEngine();
  let now = 0;
  const nerdctl = new Nerdctl(engine);
  const state = new NamespaceState(nerdctl, { subscribeGraceMs: 0, now: () => now });
  state.streamStarted();
  const scope = { nerdctl, state } as unknown as Scope;
  const list = async () => {
    const summaries = await containerList(scope, { all: true, limit: -1, size: false, filters: Filters.none });
    return Object.fromEntries(summaries.map((summary) => [summary.Names[0], summary.NetworkSettings.Networks]));
  };
  // A container made after the first listing is in the next one, as the engine's event about it would have it.
  const put = (name: string, network: string) => state.containerChanged(engine.put(name, network));
  return { engine, put, list, later: (ms: number) => (now += ms) };
}

describe("containerList's network ids", () => {
  it("names the default network by the id listed once, however long ago, and lists networks for no container on host or none", async () => {
    const { engine, put, list, later } = setup();
    put("off", "none");
    expect(await list()).toEqual({ "/off": { none: expect.objectContaining({ NetworkID: expect.stringMatching(/^[0-9a-f]{64}$/) }) } });
    expect(engine.networkCalls()).toBe(0);

    put("web", "bridge");
    later(10);
    expect((await list())["/web"]).toEqual({ bridge: expect.objectContaining({ NetworkID: BRIDGE_ID }) });
    expect(engine.networkCalls()).toBe(2);

    later(60_000);
    expect((await list())["/web"]).toEqual({ bridge: expect.objectContaining({ NetworkID: BRIDGE_ID }) });
    expect(engine.networkCalls()).toBe(2);
  });

  it("lists networks again for a user-defined network once the last listing is a second old", async () => {
    const { engine, put, list, later } = setup();
    put("web", "bridge");
    put("app", "custom");
    expect((await list())["/app"]).toEqual({ custom: expect.objectContaining({ NetworkID: CUSTOM_ID }) });
    expect(engine.networkCalls()).toBe(2);
    later(2_000);
    expect((await list())["/web"]).toEqual({ bridge: expect.objectContaining({ NetworkID: BRIDGE_ID }) });
    expect(engine.networkCalls()).toBe(4);
  });
});
