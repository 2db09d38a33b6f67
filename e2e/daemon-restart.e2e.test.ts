/**
 * A restart of nerdctld under running containers, on an engine it does not
 * manage: the containers it started attached (docker run -i, -it, a
 * foreground docker run) keep running, and the next nerdctld takes their
 * stdio over again: their output is read (a full pipe would stall them),
 * clients attach and type into them.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DOCKER_CLIS, docker } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { writeBusyboxImage } from "./support/images.ts";
import { startSecondDaemon, type SecondDaemon } from "./support/second-daemon.ts";

const engine = inject("engine");
const cli = DOCKER_CLIS[0]!.path;
const namespace = `restart-${randomBytes(4).toString("hex")}`;
const FLAGS = ["--engine", "external", "--namespace", namespace];

/** Runs `docker attach` until its output holds `expected` (or `ms` pass), typing `input` once attached; what it printed. */
async function attachUntil(dockerHost: string, args: string[], expected: RegExp, input?: string, ms = 20_000): Promise<string> {
  const child = execa(cli, ["attach", ...args], { env: { DOCKER_HOST: dockerHost, DOCKER_CLI_HINTS: "false" }, reject: false, stdin: input === undefined ? "ignore" : "pipe" });
  let output = "";
  const seen = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (expected.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  if (input !== undefined) {
    await sleep(1_000);
    child.stdin!.write(input);
  }
  await seen;
  child.kill("SIGKILL");
  await child;
  return output;
}

describe("a restart of nerdctld under the containers it started attached", () => {
  let daemon: SecondDaemon;
  const cliOn = (args: string[]) => docker(cli, daemon.dockerHost, args);
  /** The number the chatty container has counted to. */
  const counted = async () => Number((await cliOn(["exec", "chatty", "cat", "/count"])).stdout.trim());

  beforeAll(async () => {
    daemon = await startSecondDaemon(engine, "restart", FLAGS);
    const work = await mkdtemp(join(tmpdir(), "ndl-restart-"));
    try {
      await writeBusyboxImage(join(work, "busybox.tar"));
      const load = await cliOn(["load", "-i", join(work, "busybox.tar")]);
      expect(load.exitCode, load.stderr).toBe(0);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  afterAll(async () => {
    if (daemon) await cliOn(["rm", "-f", "typed", "chatty"]);
    await daemon?.stop();
    await engineNerdctl(["--namespace", namespace, "rmi", "-f", "busybox"]);
    await engineNerdctl(["namespace", "remove", namespace]);
  });

  it("keeps them running, reads their output again, and lets clients attach and type", async () => {
    const runs = [
      ["run", "-di", "--name", "typed", "busybox", "cat"],
      // With a terminal, about 100 bytes a line as fast as it can: a terminal nobody reads is full within a second.
      ["run", "-dit", "--name", "chatty", "busybox", "sh", "-c", `i=0; while true; do i=$((i+1)); echo "$i ${"x".repeat(90)}"; echo $i > /count.new; mv /count.new /count; done`],
    ];
    for (const args of runs) {
      const run = await cliOn(args);
      expect(run.exitCode, `${args.join(" ")}: ${run.stderr}`).toBe(0);
    }
    expect(await attachUntil(daemon.dockerHost, ["typed"], /before/, "before\n")).toContain("before");

    await daemon.stop();
    // Nobody reads the chatty container now: it stalls once its terminal is full.
    await sleep(2_000);
    daemon = await startSecondDaemon(engine, "restart", FLAGS);

    const ps = await cliOn(["ps", "--format", "{{.Names}} {{.State}}"]);
    expect(ps.stdout.split("\n").sort()).toEqual(["chatty running", "typed running"]);
    const first = await counted();
    await sleep(2_000);
    const second = await counted();
    expect(second, "the chatty container's count after the restart").toBeGreaterThan(first + 100);
    expect(await attachUntil(daemon.dockerHost, ["--no-stdin", "chatty"], /x{90}/)).toMatch(/\d+ x{90}/);
    expect(await attachUntil(daemon.dockerHost, ["typed"], /after/, "after\n")).toContain("after");
    // Its log has what it printed under each nerdctld.
    const logs = await cliOn(["logs", "typed"]);
    expect(logs.stdout.split("\n")).toEqual(["before", "after"]);
  });
});
