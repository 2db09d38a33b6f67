/**
 * The managed engine on the real binaries: started in temp dirs, used through
 * nerdctl and buildctl with its env, attached to, and stopped.
 * Needs root and scripts/install-engine.sh's binaries.
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineLayout } from "../lib/engine/layout.ts";
import { engineStatus, startManagedEngine, type ManagedEngine } from "../lib/engine/managed.ts";
import { isProcessAlive } from "../lib/engine/processes.ts";
import { writeBusyboxImage } from "./support/images.ts";

const TIMEOUT_MS = 120_000;

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

/** rm -rf, unless something is still mounted below (rm would descend into the mount). */
async function removeTempDir(dir: string): Promise<void> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const mounted = mountinfo.split("\n").some((line) => line.split(" ")[4]?.startsWith(`${dir}/`));
  if (mounted) throw new Error(`not removing ${dir}: something is still mounted below it`);
  await rm(dir, { recursive: true, force: true });
}

/** Mount points at or below dir, from this process's mountinfo. */
async function mountsUnder(dir: string): Promise<string[]> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  return mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mountPoint): mountPoint is string => mountPoint === dir || Boolean(mountPoint?.startsWith(`${dir}/`)));
}

/** Pids of containerd-shim-runc-v2 processes whose argv mentions dir (the shim's -address is in the state dir). */
async function shimsMentioning(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (basename(argv[0] ?? "") === "containerd-shim-runc-v2" && argv.some((arg) => arg.includes(dir))) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

describe("managed engine", () => {
  let tempDir: string;
  let engine: ManagedEngine;
  let startMs: number;

  const run = (file: string, args: string[]) =>
    execa(file, args, { env: { ...process.env, ...engine.env }, timeout: 30_000, stdin: "ignore" });

  beforeAll(async () => {
    // Short: unix socket paths must stay under 108 bytes.
    tempDir = await mkdtemp("/tmp/nerdctld-e2e-");
    const started = Date.now();
    engine = await startManagedEngine({ stateDir: join(tempDir, "run"), dataDir: join(tempDir, "data") });
    startMs = Date.now() - started;
  }, TIMEOUT_MS);

  afterAll(async () => {
    await engine?.stop();
    if (tempDir) await removeTempDir(tempDir);
  }, TIMEOUT_MS);

  it("starts both daemons within the timeout and owns them", () => {
    expect(engine.owned).toBe(true);
    expect(isProcessAlive(engine.pids.containerd)).toBe(true);
    expect(isProcessAlive(engine.pids.buildkitd)).toBe(true);
    expect(startMs).toBeLessThan(60_000);
  });

  it("gives nerdctl an env that reaches containerd 2.3.3 on our socket", async () => {
    expect(engine.env.CONTAINERD_ADDRESS).toBe(join(tempDir, "run/containerd/containerd.sock"));
    expect(engine.env.PATH?.split(":")[0]).toBe(engine.layout.binDir);

    const info = JSON.parse((await run("nerdctl", ["info", "--format", "{{json .}}"])).stdout) as {
      ServerVersion: string;
      Driver: string;
    };
    expect(info.ServerVersion).toBe("2.3.3");
    expect(info.Driver).toBe("overlayfs");

    const version = JSON.parse((await run("nerdctl", ["version", "--format", "{{json .}}"])).stdout) as {
      Server: { Components: { Name: string; Version: string }[] };
    };
    expect(version.Server.Components).toEqual(
      expect.arrayContaining([expect.objectContaining({ Name: "containerd", Version: "2.3.3" })]),
    );
  });

  it("runs buildkitd with one containerd worker in the engine's namespace", async () => {
    const { stdout } = await run("buildctl", ["debug", "workers", "--format", "{{json .}}"]);
    const workers = JSON.parse(stdout) as { labels: Record<string, string> }[];
    expect(workers).toHaveLength(1);
    expect(workers[0]!.labels).toMatchObject({
      "org.mobyproject.buildkit.worker.executor": "containerd",
      "org.mobyproject.buildkit.worker.containerd.namespace": "default",
    });
  });

  it("lands what nerdctl build makes straight in containerd's store", async () => {
    // FROM scratch: no registry is reachable here.
    const context = join(tempDir, "build-context");
    await execa("mkdir", ["-p", context]);
    await writeFile(join(context, "hello.txt"), "hello\n");
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY hello.txt /hello.txt\n");

    await execa("nerdctl", ["build", "--tag", "nerdctld-e2e/hello:1", context], {
      env: { ...process.env, ...engine.env },
      timeout: 60_000,
      stdin: "ignore",
    });
    const { stdout } = await run("nerdctl", ["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    expect(stdout.split("\n")).toContain("nerdctld-e2e/hello:1");
  });

  it("lists nerdctl's default bridge network, configured in the engine's own CNI dir", async () => {
    const { stdout } = await run("nerdctl", ["network", "ls", "--format", "{{.Name}}"]);
    expect(stdout.split("\n").sort()).toEqual(["bridge", "host", "none"]);
    expect(await exists(join(engine.layout.nerdctl.cniNetconfPath, "nerdctl-bridge.conflist"))).toBe(true);
  });

  it("reports the running engine in engineStatus", async () => {
    const status = await engineStatus(engine.layout);
    expect(status.containerd).toMatchObject({ pid: engine.pids.containerd, running: true, responding: true });
    expect(status.buildkitd).toMatchObject({ pid: engine.pids.buildkitd, running: true, responding: true });
  });

  it("refuses a second start of the same layout, and attaches with reuse without owning it", async () => {
    const options = { stateDir: engine.layout.stateDir, dataDir: engine.layout.dataDir };
    await expect(startManagedEngine(options)).rejects.toThrow(/already running/);

    const attached = await startManagedEngine({ ...options, reuse: true });
    expect(attached.owned).toBe(false);
    expect(attached.pids).toEqual(engine.pids);
    await expect(attached.stop({ removeData: true })).rejects.toThrow(/not removing the engine's data/);
    expect(await exists(engine.layout.dataDir)).toBe(true);
    await attached.stop();
    expect(isProcessAlive(engine.pids.containerd)).toBe(true);
    expect((await engineStatus(engine.layout)).buildkitd.responding).toBe(true);
  });

  it("stop() ends both daemons and removes their pid files and sockets", async () => {
    const { pids, layout } = engine;
    await engine.stop();

    expect(isProcessAlive(pids.containerd)).toBe(false);
    expect(isProcessAlive(pids.buildkitd)).toBe(false);
    for (const path of [
      layout.containerd.pidFile,
      layout.buildkitd.pidFile,
      layout.containerd.socket,
      layout.containerd.ttrpcSocket,
      layout.buildkitd.socket,
    ]) {
      expect(await exists(path), path).toBe(false);
    }
    const status = await engineStatus(layout);
    expect(status.containerd.running).toBe(false);
    expect(status.buildkitd.running).toBe(false);
  }, TIMEOUT_MS);
});

describe("managed engine failures", () => {
  let tempDir: string;

  beforeAll(async () => {
    tempDir = await mkdtemp("/tmp/nerdctld-e2e-");
  });
  afterAll(async () => {
    if (tempDir) await removeTempDir(tempDir);
  });

  /** A bin dir whose containerd is a script, next to the real clients. */
  async function fakeBinDir(name: string, containerdScript: string): Promise<string> {
    const realBin = engineLayout().binDir;
    if (realBin === null) throw new Error("the engine binaries are not installed (scripts/install-engine.sh)");
    const dir = join(tempDir, name);
    await execa("mkdir", ["-p", dir]);
    for (const program of ["ctr", "buildctl", "buildkitd", "nerdctl"]) {
      await execa("ln", ["-s", join(realBin, program), join(dir, program)]);
    }
    await writeFile(join(dir, "containerd"), `#!/bin/sh\n${containerdScript}\n`);
    await chmod(join(dir, "containerd"), 0o755);
    return dir;
  }

  it("throws with the end of the daemon's log when it exits, and leaves no pid file", async () => {
    const binDir = await fakeBinDir("exits", 'for i in $(seq 1 30); do echo "boom line $i"; done; exit 3');
    const stateDir = join(tempDir, "exits-run");
    const failure = startManagedEngine({ stateDir, dataDir: join(tempDir, "exits-data"), binDir });

    await expect(failure).rejects.toThrow(/containerd exited with code 3/);
    const message = await failure.catch((error: Error) => error.message);
    expect(message).toContain("boom line 30");
    expect(message).toContain("boom line 11");
    expect(message).not.toContain("boom line 10\n");
    expect(await exists(join(stateDir, "containerd.pid"))).toBe(false);
  });

  it("kills a daemon that does not answer within the timeout", async () => {
    const binDir = await fakeBinDir("hangs", 'echo "pid $$ waiting"; exec sleep 300');
    const stateDir = join(tempDir, "hangs-run");
    const failure = startManagedEngine({ stateDir, dataDir: join(tempDir, "hangs-data"), binDir, timeoutMs: 1_000 });

    const message = await failure.then(
      () => "started",
      (error: Error) => error.message,
    );
    expect(message).toMatch(/containerd did not answer within 1 s/);
    const pid = Number(/pid (\d+) waiting/.exec(message)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(isProcessAlive(pid)).toBe(false);
  }, TIMEOUT_MS);

  it("replaces a stale pid file whose process is gone", async () => {
    const stateDir = join(tempDir, "stale-run");
    const layout = engineLayout({ stateDir, dataDir: join(tempDir, "stale-data") });
    const gone = await execa("sh", ["-c", "echo $$"]);
    await execa("mkdir", ["-p", stateDir]);
    await writeFile(layout.containerd.pidFile, `${gone.stdout.trim()}\n`);

    const engine = await startManagedEngine({ stateDir, dataDir: layout.dataDir, reuse: true });
    try {
      expect(engine.owned).toBe(true);
      expect(engine.pids.containerd).not.toBe(Number(gone.stdout.trim()));
      expect((await readFile(layout.containerd.pidFile, "utf8")).trim()).toBe(String(engine.pids.containerd));
    } finally {
      await engine.stop();
    }
  }, TIMEOUT_MS);
});

describe("managed engine stop with running containers", () => {
  let tempDir: string;
  let engine: ManagedEngine | undefined;

  const nerdctl = (running: ManagedEngine, args: string[]) =>
    execa(running.layout.bin.nerdctl, args, {
      env: { ...process.env, ...running.env },
      timeout: 60_000,
      stdin: "ignore",
    });

  /** Loads the busybox archive and starts `sleep 3600` detached (a PID 1 that ignores SIGTERM). */
  async function runSleeper(running: ManagedEngine, name: string): Promise<void> {
    const image = await writeBusyboxImage(join(tempDir, "busybox.tar"));
    await nerdctl(running, ["load", "--input", image.path]);
    await nerdctl(running, ["run", "-d", "--name", name, "busybox", "sleep", "3600"]);
    expect(await shimsMentioning(running.layout.stateDir)).not.toEqual([]);
    expect(await mountsUnder(running.layout.stateDir)).not.toEqual([]);
  }

  beforeAll(async () => {
    tempDir = await mkdtemp("/tmp/nerdctld-e2e-");
  });

  afterAll(async () => {
    await engine?.stop({ removeData: true });
    if (tempDir) await removeTempDir(tempDir);
  }, TIMEOUT_MS);

  it("stop({ removeData: true }) stops the tasks, so no shim or mount is left, and removes both dirs", async () => {
    const stateDir = join(tempDir, "temp-run");
    const dataDir = join(tempDir, "temp-data");
    const running = (engine = await startManagedEngine({ stateDir, dataDir }));
    await runSleeper(running, "sleeper");

    const started = Date.now();
    await running.stop({ removeData: true });
    const stopMs = Date.now() - started;
    engine = undefined;

    expect(await shimsMentioning(stateDir)).toEqual([]);
    expect(await mountsUnder(stateDir)).toEqual([]);
    expect(await mountsUnder(dataDir)).toEqual([]);
    expect(await exists(stateDir)).toBe(false);
    expect(await exists(dataDir)).toBe(false);
    expect(isProcessAlive(running.pids.containerd)).toBe(false);
    // sleep as PID 1 ignores SIGTERM: the 10 s grace period, then SIGKILL.
    expect(stopMs).toBeGreaterThanOrEqual(9_000);
    expect(stopMs).toBeLessThan(30_000);
  }, TIMEOUT_MS);

  /*
   * nerdctl derives a container's status from its task alone: "Exited (N)" only
   * while a stopped task exists, and that task is what keeps the shim and the
   * rootfs mount. stop() deletes the tasks, so the kept container reads
   * "Created" (nerdctl's status for a container without a task), not running.
   */
  it("stop() keeps the containers: after a restart on the same dirs nerdctl ps -a lists them, not running", async () => {
    const options = { stateDir: join(tempDir, "kept-run"), dataDir: join(tempDir, "kept-data") };
    const first = (engine = await startManagedEngine(options));
    await runSleeper(first, "kept");

    await first.stop({ graceSeconds: 1 });
    expect(await shimsMentioning(options.stateDir)).toEqual([]);
    expect(await mountsUnder(options.stateDir)).toEqual([]);

    const second = (engine = await startManagedEngine(options));
    const { stdout } = await nerdctl(second, ["ps", "-a", "--format", "{{json .}}"]);
    const containers = stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { Names: string; Status: string });
    expect(containers).toEqual([expect.objectContaining({ Names: "kept", Status: "Created" })]);
    expect(await shimsMentioning(options.stateDir)).toEqual([]);
  }, TIMEOUT_MS);
});
