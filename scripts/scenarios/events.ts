import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseEventQuery, type DockerEvent } from "../../lib/docker/events.ts";
import { Nerdctl } from "../../lib/nerdctl/client.ts";
import type { Command, CommandRunner, InteractiveCommand, InteractiveOptions, RunningCommand } from "../../lib/runner/types.ts";
import { EventHub } from "../../lib/service/events/hub.ts";
import type { Scenario } from "../fixture-scenarios.ts";

/**
 * The changes the `events` scenario makes while `nerdctl events` runs, one
 * at a time (each one's events read before the next starts). Containers are
 * created, then started, so the lookup a create event causes has finished
 * before anything else happens: the recorded calls come in one order only.
 */
const EVENT_CHANGES: { args: string[]; exitCode?: number }[] = [
  { args: ["create", "--name", "ev-web", "--label", "app=events", "busybox", "sleep", "3600"] },
  { args: ["start", "--", "ev-web"] },
  { args: ["pause", "--", "ev-web"] },
  { args: ["unpause", "--", "ev-web"] },
  { args: ["kill", "--signal=SIGKILL", "--", "ev-web"] },
  { args: ["rename", "--", "ev-web", "ev-renamed"] },
  { args: ["rm", "--", "ev-renamed"] },
  { args: ["create", "--name", "ev-once", "busybox", "sh", "-c", "exit 3"] },
  { args: ["start", "--", "ev-once"] },
  { args: ["rm", "--", "ev-once"] },
  { args: ["create", "--name", "ev-exec", "busybox", "sleep", "3600"] },
  { args: ["start", "--", "ev-exec"] },
  // nerdctl exec exits 1 whatever the process exited with; the event has the real code (2).
  { args: ["exec", "ev-exec", "sh", "-c", "exit 2"], exitCode: 1 },
  { args: ["stop", "--time=1", "--", "ev-exec"] },
  { args: ["rm", "--", "ev-exec"] },
  { args: ["tag", "--", "docker.io/library/busybox:latest", "docker.io/library/events-tag:1"] },
  { args: ["rmi", "--", "docker.io/library/events-tag:1"] },
  { args: ["volume", "create", "--", "ev-vol"] },
  { args: ["volume", "rm", "--", "ev-vol"] },
  { args: ["network", "create", "--driver", "bridge", "--", "ev-net"] },
  { args: ["network", "rm", "--", "ev-net"] },
];

/** Keeps the children it starts, to wait for their fixtures (written when they have exited). */
class ChildKeeper implements CommandRunner {
  readonly children: RunningCommand[] = [];
  constructor(private readonly inner: CommandRunner) {}
  run: CommandRunner["run"] = (command, options) => this.inner.run(command, options);
  interactive(command: Command, options?: InteractiveOptions): InteractiveCommand {
    return this.inner.interactive(command, options);
  }
  spawn(command: Command, options?: { signal?: AbortSignal }): RunningCommand {
    const child = this.inner.spawn(command, options);
    this.children.push(child);
    return child;
  }
}

/** Set by the `events` prepare: the engine through a runner that records nothing, and an archive to load again. */
let unrecorded: Nerdctl | undefined;
let reloadArchive = "";

export const EVENT_SCENARIOS: Scenario[] = [
  {
    // A short `nerdctl events` stream read by the daemon's own event hub, which is what is recorded:
    // the child's output, the hub's start-up snapshot and its lookups. The changes run on a runner
    // that records nothing, so the recording holds only calls the hub makes, in the one order its
    // serial processing gives them. Everything made here is removed again.
    name: "events",
    async prepare(nerdctl, work) {
      unrecorded = nerdctl;
      reloadArchive = join(work, "events-busybox.tar");
      const result = await nerdctl.runner.run(nerdctl.command(["save", "--output", reloadArchive, "busybox:latest"]));
      if (result.exitCode !== 0) throw new Error(`prepare events: ${result.stderr}`);
    },
    async record(_nerdctl, runner) {
      const keeper = new ChildKeeper(runner);
      const hub = new EventHub(new Nerdctl(keeper));
      const events = hub.in(undefined);
      const seen: DockerEvent[] = [];
      const reading = (async () => {
        for await (const event of events.subscribe(parseEventQuery({}))) seen.push(event);
      })();
      const changes = unrecorded!;
      /** Until the hub has been quiet a while: the change's events are all read. */
      const settle = async () => {
        let count = -1;
        while (count !== seen.length) {
          count = seen.length;
          await sleep(600);
        }
      };
      await settle();
      for (const change of [...EVENT_CHANGES, { args: ["load", "--input", reloadArchive] }] as { args: string[]; exitCode?: number }[]) {
        // As nerdctld's load service does: what the engine reports made meanwhile is the load's.
        const finished = change.args[0] === "load" ? events.imageOperation({ kind: "load" }) : () => {};
        const result = await changes.runner.run(changes.command(change.args));
        finished();
        if (result.exitCode !== (change.exitCode ?? 0)) {
          throw new Error(`events scenario: nerdctl ${change.args.join(" ")}: exit ${result.exitCode}: ${result.stderr}`);
        }
        await settle();
      }
      hub.close();
      await reading;
      await Promise.all(keeper.children.map((child) => child.exited));
      console.log(`events: ${seen.map((event) => `${event.Type} ${event.Action} ${event.Actor.Attributes.name ?? event.Actor.ID}`).join(", ")}`);
    },
  },
  {
    // `docker system df` over what the scenarios before left: containers (running, exited, created)
    // with volumes, the images, and a BuildKit cache record from a small build.
    name: "system-df",
    async prepare(nerdctl, work) {
      const context = join(work, "df-context");
      await mkdir(context, { recursive: true });
      await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY payload /payload\n");
      await writeFile(join(context, "payload"), "x".repeat(64 * 1024));
      const result = await nerdctl.runner.run({
        program: "buildctl",
        args: ["build", "--frontend", "dockerfile.v0", "--local", `context=${context}`, "--local", `dockerfile=${context}`],
      });
      if (result.exitCode !== 0) throw new Error(`prepare system-df: ${result.stderr}`);
    },
    async record(_nerdctl, _runner, request) {
      await request("/v1.43/system/df");
      await request("/v1.43/system/df?type=volume&type=build-cache");
    },
  },
];
