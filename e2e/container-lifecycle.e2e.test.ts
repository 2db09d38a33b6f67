/**
 * A container's whole life through the docker CLI: docker run with the flags
 * people use, then create, start, stop, kill, restart, pause, rename, update,
 * remove, wait, attach and the events they make, for both CLIs in both
 * namespaces. Cells run one after the other (an engine on two cores
 * under four at once answers too late for the timing cases).
 */
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, inject, it } from "vitest";
import { engineNerdctl, engineShell, publishedPortAddress } from "./support/engine-client.ts";
import { dockerChild, dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

const dockerHost = inject("dockerHost");

/** How long a command that should end at once may take before it counts as hanging. */
const HANG_MS = 20_000;

/** A TCP port nothing listens on here (the engine's own network namespace has fewer still). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Polls `read` until `done` holds for what it returns; gives the last value either way. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(250);
  }
}

/** Reads a cgroup file, v2's name first, v1's controller path otherwise (the engine's host decides). */
const cgroupRead = (v2: string, v1: string) => `cat /sys/fs/cgroup/${v2} 2>/dev/null || cat /sys/fs/cgroup/${v1}`;

/** Whether a capability is in /proc/self/status's CapEff line. */
function hasCapability(status: string, bit: number): boolean {
  const hex = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];
  if (!hex) throw new Error(`no CapEff in ${JSON.stringify(status)}`);
  return (BigInt(`0x${hex}`) & (1n << BigInt(bit))) !== 0n;
}
const CAP_NET_RAW = 13;

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const piped = (input: string, ...args: string[]) => dockerIn(cell, dockerHost, args, input, HANG_MS);
  /** Names of this cell's own, so that cells sharing a namespace never meet. */
  const tag = `${cell.cli.replace(/\W/g, "")}-${cell.namespace.replace(/\W/g, "")}`;
  const containers = new Set<string>();
  const volumes = new Set<string>();
  const networks = new Set<string>();
  const hostDir = `/tmp/nerdctld-e2e-life-${tag}`;
  /** A container name of this cell, removed with it. */
  const name = (what: string) => {
    const made = `life-${what}-${tag}`;
    containers.add(made);
    return made;
  };

  /** Runs docker and fails with its stderr unless it succeeded; its stdout, trimmed. */
  async function must(...args: string[]): Promise<string> {
    const result = await docker(...args);
    if (result.exitCode !== 0) throw new Error(`docker ${args.join(" ")} failed (${result.exitCode}): ${result.stderr}`);
    return result.stdout.trim();
  }

  async function inspect<T>(ref: string, format: string): Promise<T> {
    return JSON.parse(await must("inspect", "--format", `{{json ${format}}}`, ref)) as T;
  }

  /** What `docker ps -a` shows of one container: its status column. */
  const statusColumn = (ref: string) => must("ps", "--all", "--filter", `name=^/${ref}$`, "--format", "{{.Status}}");

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
  });

  afterAll(async () => {
    if (containers.size) await engineNerdctl(["rm", "--force", ...containers], { namespace: cell.namespace });
    if (volumes.size) await engineNerdctl(["volume", "rm", "--force", ...volumes], { namespace: cell.namespace });
    for (const network of networks) await engineNerdctl(["network", "rm", network], { namespace: cell.namespace });
    await engineShell(`rm -rf ${hostDir}`);
  });

  describe("docker run", () => {
    it("docker run --rm busybox echo hi", async ({ expect }) => {
      const container = name("rm");
      const result = await docker("run", "--rm", "--name", container, "busybox", "echo", "hi");
      expect(result).toMatchObject({ stdout: "hi", stderr: "", exitCode: 0 });
      // docker run --rm returns once the container is removed.
      const gone = await docker("inspect", container);
      expect(gone.exitCode).toBe(1);
      expect(gone.stderr).toContain(`No such object: ${container}`);
    });

    it("docker run exits with the process's exit code, stdout and stderr apart", async ({ expect }) => {
      const result = await docker("run", "--name", name("exit"), "busybox", "sh", "-c", "echo out; echo err >&2; exit 7");
      expect(result).toMatchObject({ stdout: "out", stderr: "err", exitCode: 7 });
      expect(await inspect(name("exit"), ".State")).toMatchObject({ Status: "exited", ExitCode: 7, Running: false });
    });

    it("docker run -d, then docker logs", async ({ expect }) => {
      const container = name("logs");
      const id = await must("run", "-d", "--name", container, "busybox", "sh", "-c", "echo one; echo two >&2; exec sleep 600");
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      const logs = await eventually(() => docker("logs", container), (result) => result.stdout === "one" && result.stderr === "two");
      expect(logs).toMatchObject({ stdout: "one", stderr: "two", exitCode: 0 });
      expect(await inspect(container, ".State.Status")).toBe("running");
      expect(await statusColumn(container)).toMatch(/^Up /);
    });

    it("docker run --name twice", async ({ expect }) => {
      const container = name("twice");
      await must("run", "--name", container, "busybox", "true");
      const id = await inspect<string>(container, ".Id");
      const second = await docker("run", "--name", container, "busybox", "true");
      expect(second.exitCode).toBe(125);
      expect(second.stderr).toContain(
        `docker: Error response from daemon: Conflict. The container name "/${container}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    });

    it("docker run -d -p, and an HTTP request from this host", async ({ expect }) => {
      const container = name("publish");
      const port = await freePort();
      const id = await must("run", "-d", "--name", container, "-p", `${port}:80`, "busybox", "httpd", "-f", "-p", "80", "-h", "/etc");
      expect(await must("port", container)).toContain(`80/tcp -> 0.0.0.0:${port}`);
      const url = `http://${await publishedPortAddress()}:${port}/hostname`;
      const body = await eventually(
        () => fetch(url, { signal: AbortSignal.timeout(2_000) }).then((response) => response.text(), (error: unknown) => String(error)),
        (text) => !text.startsWith("TypeError") && !text.includes("Error"),
      );
      // The container's /etc/hostname, served by its httpd: its short id.
      expect(body.trim()).toBe(id.slice(0, 12));
    });

    it("docker run -v volume:/data keeps the data for the next container", async ({ expect }) => {
      const volume = `life-vol-${tag}`;
      volumes.add(volume);
      await must("run", "--rm", "-v", `${volume}:/data`, "busybox", "sh", "-c", "echo kept > /data/file");
      expect(await must("run", "--rm", "-v", `${volume}:/data`, "busybox", "cat", "/data/file")).toBe("kept");
      expect(await must("volume", "ls", "--quiet", "--filter", `name=${volume}`)).toBe(volume);
    });

    it("docker run -v /hostdir:/data", async ({ expect }) => {
      const prepared = await engineShell(`mkdir -p ${hostDir} && echo from-host > ${hostDir}/in`);
      expect(prepared.exitCode, prepared.stderr).toBe(0);
      const result = await docker("run", "--rm", "-v", `${hostDir}:/data`, "busybox", "sh", "-c", "cat /data/in; echo from-container > /data/out");
      expect(result).toMatchObject({ stdout: "from-host", exitCode: 0 });
      expect((await engineShell(`cat ${hostDir}/out`)).stdout.trim()).toBe("from-container");
    });

    it("docker run --read-only", async ({ expect }) => {
      const result = await docker("run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /file");
      expect(result).toMatchObject({ stderr: "touch: /file: Read-only file system", exitCode: 1 });
    });

    it("docker run --user 1000", async ({ expect }) => {
      expect(await must("run", "--rm", "--user", "1000", "busybox", "id")).toBe("uid=1000 gid=0(root) groups=0(root)");
    });

    it("docker run -e -w --entrypoint", async ({ expect }) => {
      const result = await must("run", "--rm", "-e", "GREETING=hello there", "-w", "/tmp", "--entrypoint", "sh", "busybox", "-c", 'echo "$GREETING"; pwd');
      expect(result).toBe("hello there\n/tmp");
    });

    it("docker run --cap-drop NET_RAW", async ({ expect }) => {
      const container = name("capdrop");
      const dropped = await must("run", "--name", container, "--cap-drop", "NET_RAW", "busybox", "grep", "CapEff", "/proc/self/status");
      const kept = await must("run", "--rm", "busybox", "grep", "CapEff", "/proc/self/status");
      expect(hasCapability(dropped, CAP_NET_RAW)).toBe(false);
      expect(hasCapability(kept, CAP_NET_RAW)).toBe(true);
      // As the client sent it, as dockerd shows it: the 28 CLI sends capabilities in their CAP_ form.
      expect(await inspect(container, ".HostConfig.CapDrop")).toEqual([cell.cli === "docker-28" ? "CAP_NET_RAW" : "NET_RAW"]);
    });

    it("docker run --memory", async ({ expect }) => {
      const container = name("memory");
      expect(await must("run", "--name", container, "--memory", "64m", "busybox", "sh", "-c", cgroupRead("memory.max", "memory/memory.limit_in_bytes"))).toBe("67108864");
      expect(await inspect(container, ".HostConfig.Memory")).toBe(64 * 1024 * 1024);
    });

    it("docker run --cpus", async ({ expect }) => {
      const container = name("cpus");
      const v1 = 'echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"';
      expect(await must("run", "--name", container, "--cpus", "0.5", "busybox", "sh", "-c", `cat /sys/fs/cgroup/cpu.max 2>/dev/null || ${v1}`)).toBe("50000 100000");
      expect(await inspect(container, ".HostConfig.NanoCpus")).toBe(500_000_000);
    });

    it("docker run --pids-limit", async ({ expect }) => {
      const container = name("pids");
      expect(await must("run", "--name", container, "--pids-limit", "50", "busybox", "sh", "-c", cgroupRead("pids.max", "pids/pids.max"))).toBe("50");
      expect(await inspect(container, ".HostConfig.PidsLimit")).toBe(50);
    });

    it("docker run --ulimit nofile", async ({ expect }) => {
      expect(await must("run", "--rm", "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn")).toBe("1024\n2048");
    });

    it("docker run --dns --add-host", async ({ expect }) => {
      const container = name("dns");
      const files = await must("run", "--name", container, "--dns", "1.1.1.1", "--add-host", "db:10.1.2.3", "busybox", "cat", "/etc/resolv.conf", "/etc/hosts");
      expect(files).toMatch(/^nameserver 1\.1\.1\.1$/m);
      expect(files).toMatch(/^10\.1\.2\.3\s+db$/m);
      expect(await inspect(container, ".HostConfig")).toMatchObject({ Dns: ["1.1.1.1"], ExtraHosts: ["db:10.1.2.3"] });
    });

    it("docker run --tmpfs", async ({ expect }) => {
      const mounts = await must("run", "--rm", "--tmpfs", "/run:size=1m", "busybox", "sh", "-c", "grep ' /run ' /proc/mounts; touch /run/file");
      expect(mounts).toMatch(/^tmpfs \/run tmpfs rw,.*size=1024k/);
    });

    it("docker run --init", async ({ expect }) => {
      // An init runs as PID 1 and the command under it, as with dockerd's docker-init.
      const result = await docker("run", "--rm", "--init", "busybox", "sh", "-c", "echo $$; cat /proc/1/comm");
      expect(result.exitCode, result.stderr).toBe(0);
      const [pid, init] = result.stdout.split("\n");
      expect(pid).not.toBe("1");
      expect(init).toMatch(/init|tini/);
    });

    it("docker run --network <custom>: containers resolve each other by name", async ({ expect }) => {
      const network = `life-net-${tag}`;
      networks.add(network);
      await must("network", "create", network);
      const server = name("peer");
      await must("run", "-d", "--name", server, "--network", network, "busybox", "sleep", "600");
      const address = await inspect<string>(server, `(index .NetworkSettings.Networks "${network}").IPAddress`);
      expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const ping = await docker("run", "--rm", "--network", network, "busybox", "ping", "-c", "1", "-W", "5", server);
      expect(ping.exitCode, ping.stderr).toBe(0);
      expect(ping.stdout).toContain(`PING ${server} (${address})`);
    });

    it("docker run --health-cmd", async ({ expect }) => {
      const container = name("health");
      await must("run", "-d", "--name", container, "--health-cmd", "true", "--health-interval", "1s", "busybox", "sleep", "600");
      // dockerd starts at "starting" and is "healthy" after the first check, a second later.
      const health = await eventually(
        () => inspect<{ Status: string; FailingStreak: number; Log: { ExitCode: number }[] } | null>(container, ".State.Health"),
        (state) => state?.Status === "healthy",
        10_000,
      );
      expect(health).toMatchObject({ Status: "healthy", FailingStreak: 0 });
      expect(health?.Log.at(-1)).toMatchObject({ ExitCode: 0 });
      expect(await statusColumn(container)).toMatch(/^Up .* \(healthy\)$/);
    });

    it("docker run --restart always: the process is killed and runs again", async ({ expect }) => {
      const container = name("restart");
      // Not `exec sleep`: PID 1 ignores the signal; the shell's child does not, and the shell then exits.
      await must("run", "-d", "--name", container, "--restart", "always", "busybox", "sh", "-c", "echo started; sleep 600; exit 3");
      const startedAt = await inspect<string>(container, ".State.StartedAt");
      await must("exec", container, "killall", "sleep");
      const state = await eventually(
        () => inspect<{ Status: string; StartedAt: string }>(container, ".State"),
        (now) => now.Status === "running" && now.StartedAt !== startedAt,
      );
      expect(state.Status).toBe("running");
      expect(state.StartedAt).not.toBe(startedAt);
      expect(await inspect(container, ".RestartCount")).toBe(1);
      expect(await inspect(container, ".HostConfig.RestartPolicy")).toEqual({ Name: "always", MaximumRetryCount: 0 });
      expect(await must("logs", container)).toBe("started\nstarted");
      expect(await statusColumn(container)).toMatch(/^Up /);
    });

    it("docker run --rm -d: gone once it exits", async ({ expect }) => {
      const container = name("rmd");
      await must("run", "--rm", "-d", "--name", container, "busybox", "sleep", "1");
      const gone = await eventually(() => docker("inspect", container), (result) => result.exitCode !== 0);
      expect(gone.stderr).toContain(`No such object: ${container}`);
      expect(await must("ps", "--all", "--quiet", "--filter", `name=^/${container}$`)).toBe("");
    });

    it("echo hi | docker run -i --rm busybox cat", async ({ expect }) => {
      const container = name("stdin");
      const result = await piped("hi\n", "run", "-i", "--rm", "--name", container, "busybox", "cat");
      expect(result).toMatchObject({ stdout: "hi", exitCode: 0 });
    });
  });

  describe("after create", () => {
    it("echo hi | docker start -ai (docker create -i … cat)", async ({ expect }) => {
      const container = name("startai");
      await must("create", "-i", "--name", container, "busybox", "cat");
      const result = await piped("hi\n", "start", "-ai", container);
      expect(result).toMatchObject({ stdout: "hi", exitCode: 0 });
      expect(await inspect(container, ".State")).toMatchObject({ Status: "exited", ExitCode: 0 });
      // The output of a run with input and no terminal is in its log too.
      expect(await must("logs", container)).toBe("hi");
    });

    it("docker stop", async ({ expect }) => {
      const container = name("stop");
      // The shell stops at SIGTERM with a code of its own: stop sends it first.
      await must("run", "-d", "--name", container, "busybox", "sh", "-c", 'trap "echo got TERM; exit 5" TERM; while true; do sleep 0.2; done');
      expect(await must("stop", container)).toBe(container);
      expect(await inspect(container, ".State")).toMatchObject({ Status: "exited", ExitCode: 5, Running: false });
      expect(await must("logs", container)).toBe("got TERM");
      expect(await statusColumn(container)).toMatch(/^Exited \(5\) /);
    });

    it("docker stop -t", async ({ expect }) => {
      const container = name("stopt");
      // sleep as PID 1 ignores SIGTERM: SIGKILL comes after the 2 seconds.
      await must("run", "-d", "--name", container, "busybox", "sleep", "600");
      const started = Date.now();
      expect(await must("stop", "-t", "2", container)).toBe(container);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1_900);
      expect(took).toBeLessThan(8_000);
      expect(await inspect(container, ".State")).toMatchObject({ Status: "exited", ExitCode: 137 });
    });

    it("docker kill -s USR1", async ({ expect }) => {
      const container = name("kill");
      await must("run", "-d", "--name", container, "busybox", "sh", "-c", 'trap "echo got USR1" USR1; echo ready; while true; do sleep 0.2; done');
      await eventually(() => must("logs", container), (logs) => logs === "ready");
      expect(await must("kill", "-s", "USR1", container)).toBe(container);
      expect(await eventually(() => must("logs", container), (logs) => logs.includes("got USR1"))).toBe("ready\ngot USR1");
      expect(await inspect(container, ".State.Status")).toBe("running");
      // A signal for a stopped container is dockerd's 409.
      await must("kill", container);
      const again = await docker("kill", container);
      expect(again.exitCode).toBe(1);
      expect(again.stderr).toContain(`Cannot kill container: ${container}: Container ${await inspect<string>(container, ".Id")} is not running`);
    });

    it("docker restart", async ({ expect }) => {
      const container = name("restarted");
      await must("run", "-d", "--name", container, "busybox", "sh", "-c", "echo started; exec sleep 600");
      const before = await inspect<{ StartedAt: string; Pid: number }>(container, ".State");
      expect(await must("restart", "-t", "1", container)).toBe(container);
      const after = await inspect<{ Status: string; StartedAt: string; Pid: number; Running: boolean; Restarting: boolean }>(container, ".State");
      expect(after).toMatchObject({ Status: "running", Running: true, Restarting: false });
      expect(Date.parse(after.StartedAt)).toBeGreaterThan(Date.parse(before.StartedAt));
      expect(after.Pid).not.toBe(before.Pid);
      expect(await eventually(() => must("logs", container), (logs) => logs === "started\nstarted")).toBe("started\nstarted");
      expect(await statusColumn(container)).toMatch(/^Up /);
    });

    it("docker pause / unpause", async ({ expect }) => {
      const container = name("pause");
      await must("run", "-d", "--name", container, "busybox", "sleep", "600");
      expect(await must("pause", container)).toBe(container);
      expect(await inspect(container, ".State")).toMatchObject({ Status: "paused", Running: true, Paused: true });
      expect(await statusColumn(container)).toMatch(/^Up .* \(Paused\)$/);
      expect(await must("ps", "--filter", "status=paused", "--filter", `name=^/${container}$`, "--format", "{{.Names}}")).toBe(container);
      expect(await must("unpause", container)).toBe(container);
      expect(await inspect(container, ".State")).toMatchObject({ Status: "running", Running: true, Paused: false });
      expect(await statusColumn(container)).toMatch(/^Up [^(]*$/);
    });

    it("docker rename", async ({ expect }) => {
      const container = name("rename");
      const renamed = name("renamed");
      const id = await must("run", "-d", "--name", container, "busybox", "sleep", "600");
      expect(await docker("rename", container, renamed)).toMatchObject({ stdout: "", exitCode: 0 });
      expect(await inspect(renamed, ".Id")).toBe(id);
      expect(await inspect(renamed, ".Name")).toBe(`/${renamed}`);
      expect((await docker("inspect", container)).stderr).toContain(`No such object: ${container}`);
      expect(await must("ps", "--filter", `id=${id}`, "--format", "{{.Names}}")).toBe(renamed);
    });

    it("docker update --memory", async ({ expect }) => {
      const container = name("update");
      await must("run", "-d", "--name", container, "--restart", "unless-stopped", "--memory", "64m", "busybox", "sleep", "600");
      expect(await must("update", "--memory", "32m", "--memory-swap", "64m", container)).toBe(container);
      expect(await inspect(container, ".HostConfig")).toMatchObject({ Memory: 32 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024 });
      expect(await must("exec", container, "sh", "-c", cgroupRead("memory.max", "memory/memory.limit_in_bytes"))).toBe(String(32 * 1024 * 1024));
      // What the update did not name stays as it was.
      expect(await inspect(container, ".HostConfig.RestartPolicy")).toEqual({ Name: "unless-stopped", MaximumRetryCount: 0 });
      expect(await inspect(container, ".State.Status")).toBe("running");
    });

    it("docker rm -f of a running container", async ({ expect }) => {
      const container = name("rmf");
      await must("run", "-d", "--name", container, "busybox", "sleep", "600");
      expect(await must("rm", "-f", container)).toBe(container);
      expect((await docker("inspect", container)).stderr).toContain(`No such object: ${container}`);
    });

    it("docker rm of a running container", async ({ expect }) => {
      const container = name("rmrunning");
      const id = await must("run", "-d", "--name", container, "busybox", "sleep", "600");
      const result = await docker("rm", container);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(
        `Error response from daemon: You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`,
      );
      expect(await inspect(container, ".State.Status")).toBe("running");
    });

    it("docker wait", async ({ expect }) => {
      const container = name("wait");
      await must("run", "-d", "--name", container, "busybox", "sh", "-c", "sleep 1; exit 4");
      expect(await docker("wait", container)).toMatchObject({ stdout: "4", exitCode: 0 });
      // An exited container is answered at once, with the code it exited with.
      expect(await docker("wait", container)).toMatchObject({ stdout: "4", exitCode: 0 });
    });

    it("docker attach to a docker run -d container printing a line a second", async ({ expect }) => {
      const container = name("attach");
      await must("run", "-d", "--name", container, "busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 1; done");
      await eventually(() => must("logs", container), (logs) => logs.includes("line 2"));
      const attachedAt = Date.now();
      const attach = dockerChild(cell, dockerHost, ["attach", "--no-stdin", container]);
      const lines: { text: string; at: number }[] = [];
      attach.stdout.on("data", (chunk: Buffer) => {
        for (const text of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push({ text, at: Date.now() });
      });
      try {
        await eventually(async () => lines.length, (count) => count >= 4, 10_000);
      } finally {
        attach.kill("SIGKILL");
        await attach;
      }
      expect(lines.length).toBeGreaterThanOrEqual(4);
      const numbers = lines.map((line) => Number(/^line (\d+)$/.exec(line.text)?.[1]));
      expect(numbers).toEqual(numbers.map((_, index) => numbers[0]! + index));
      // Only what the container prints once attached, as with dockerd (docker attach shows no earlier output).
      const logged = await must("logs", "--timestamps", container);
      const printedAt = logged.split("\n").find((line) => line.endsWith(` ${lines[0]!.text}`))?.split(" ")[0];
      expect(Date.parse(printedAt ?? ""), `"${lines[0]!.text}" was printed at ${printedAt}, before docker attach started`).toBeGreaterThanOrEqual(attachedAt);
      // Each as it is printed, a second apart: not the log replayed at once.
      expect(lines.at(-1)!.at - lines[0]!.at).toBeGreaterThan(1_500);
      expect(await inspect(container, ".State.Status")).toBe("running");
    });

    it("docker events --filter container=…", async ({ expect }) => {
      const container = name("events");
      const since = Math.floor(Date.now() / 1000) - 1;
      expect((await docker("run", "--rm", "--name", container, "-l", "e2e=events", "busybox", "sh", "-c", "exit 3")).exitCode).toBe(3);
      const until = String(Math.floor(Date.now() / 1000) + 1);
      const events = await docker("events", "--since", String(since), "--until", until, "--filter", `container=${container}`, "--format", "{{.Type}} {{.Action}} {{json .Actor.Attributes}}");
      expect(events.exitCode, events.stderr).toBe(0);
      const seen = events.stdout.split("\n").map((line) => {
        const [type, action, attributes] = line.split(" ", 3);
        return { type, action, attributes: JSON.parse(attributes ?? "{}") as Record<string, string> };
      });
      // dockerd's actions and attributes: the image as the user named it, the container's labels, the exit code at die.
      const attributes = { image: "busybox", name: container, e2e: "events" };
      expect(seen).toEqual([
        { type: "container", action: "create", attributes },
        { type: "container", action: "attach", attributes },
        { type: "container", action: "start", attributes },
        { type: "container", action: "die", attributes: { ...attributes, exitCode: "3" } },
        { type: "container", action: "destroy", attributes },
      ]);
    });
  });
});
