import { describe, expect, it } from "vitest";
import { DaemonSupervisor, restartDelay, type SupervisedDaemon } from "./supervisor.ts";

/** A daemon whose death the test decides. */
function fakeDaemon(pid: number): SupervisedDaemon & { die(reason: string): void } {
  let die!: (reason: string) => void;
  const exited = new Promise<string>((resolve) => (die = resolve));
  return { pid, exited, die };
}

/** A supervisor over fake daemons, a clock the test moves, and waits that return at once (recorded). */
function harness(options: { failLaunches?: number } = {}) {
  let clock = 0;
  let failLaunches = options.failLaunches ?? 0;
  let nextPid = 100;
  const daemons = [fakeDaemon(nextPid)];
  const waits: number[] = [];
  const log: string[] = [];
  let launched!: () => void;
  let relaunchSeen = new Promise<void>((resolve) => (launched = resolve));
  const supervisor = new DaemonSupervisor(
    "containerd",
    daemons[0]!,
    async () => {
      const done = launched;
      relaunchSeen = new Promise<void>((resolve) => (launched = resolve));
      done();
      if (failLaunches > 0) {
        failLaunches -= 1;
        throw new Error("containerd did not answer within 60 s\nlog lines");
      }
      const daemon = fakeDaemon(++nextPid);
      daemons.push(daemon);
      return daemon;
    },
    {
      initialDelayMs: 500,
      maxDelayMs: 4_000,
      stableMs: 60_000,
      log: (line) => log.push(line),
      now: () => clock,
      wait: async (ms) => {
        waits.push(ms);
      },
    },
  );
  return {
    supervisor,
    daemons,
    waits,
    log,
    advance: (ms: number) => (clock += ms),
    nextRelaunch: () => relaunchSeen,
  };
}

/** Lets the supervisor's promise chain run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("restartDelay", () => {
  it("doubles from the first delay up to the most", () => {
    const options = { initialDelayMs: 500, maxDelayMs: 4_000 };
    expect([0, 1, 2, 3, 4, 10].map((failures) => restartDelay(failures, options))).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
  });
});

describe("DaemonSupervisor", () => {
  it("starts a daemon that died again, and logs why and its new pid", async () => {
    const { supervisor, daemons, log, nextRelaunch } = harness();
    const relaunched = nextRelaunch();
    daemons[0]!.die("was killed by SIGKILL");
    await relaunched;
    await settle();
    expect(supervisor.current.pid).toBe(101);
    expect(log).toEqual(["managed engine: containerd was killed by SIGKILL; restarting it in 500 ms", "managed engine: containerd restarted (pid 101)"]);
    await supervisor.stop();
  });

  it("waits longer each time the daemon dies soon after its start, and starts over once it ran a while", async () => {
    const { supervisor, daemons, waits, advance, nextRelaunch } = harness();
    for (let round = 0; round < 3; round++) {
      const relaunched = nextRelaunch();
      daemons.at(-1)!.die("exited with code 1");
      await relaunched;
      await settle();
      advance(1_000);
    }
    advance(60_000);
    const relaunched = nextRelaunch();
    daemons.at(-1)!.die("exited with code 2");
    await relaunched;
    await settle();
    expect(waits).toEqual([500, 1_000, 2_000, 500]);
    await supervisor.stop();
  });

  it("tries again, later, when a restart fails", async () => {
    const { supervisor, daemons, waits, log } = harness({ failLaunches: 2 });
    daemons[0]!.die("was killed by SIGKILL");
    for (let turn = 0; turn < 100 && supervisor.current.pid === 100; turn++) await settle();
    expect(waits).toEqual([500, 1_000, 2_000]);
    expect(log).toContain("managed engine: containerd could not be restarted: containerd did not answer within 60 s; restarting it in 1000 ms");
    expect(supervisor.current.pid).toBe(101);
    await supervisor.stop();
  });

  it("restarts nothing after stop(), and stop() gives the process running last", async () => {
    const { supervisor, daemons, log } = harness();
    const last = await supervisor.stop();
    daemons[0]!.die("exited with code 0");
    await settle();
    expect(last.pid).toBe(100);
    expect(log).toEqual([]);
  });
});
