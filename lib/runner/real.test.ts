import { readFileSync } from "node:fs";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RealRunner } from "./real.ts";

// The real runner over /bin/sh standing in for nerdctl: what matters is how children are started and ended.
const runner = new RealRunner({ binaries: { nerdctl: "/bin/sh" } });
const sh = (script: string) => ({ program: "nerdctl" as const, args: ["-c", script] });

/** Running, not a zombie (an orphan is reaped by init when init reaps at all). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "real-runner-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("RealRunner", () => {
  it("runs a command without a shell word from its arguments: stdout, stderr and exit code", async () => {
    const result = await runner.run({ program: "nerdctl", args: ["-c", 'printf "%s" "$1"; echo oops >&2; exit 3', "sh", "$(id); --help"] });
    expect(result).toEqual({ stdout: "$(id); --help", stderr: "oops\n", exitCode: 3 });
  });

  it("streams stdout, and keeps the tail of stderr for the exit report", async () => {
    const child = runner.spawn(sh("echo out; echo err >&2; exit 2"));
    expect(Buffer.concat(await child.stdout.toArray()).toString()).toBe("out\n");
    await expect(child.exited).resolves.toEqual({ stdout: "", stderr: "err\n", exitCode: 2 });
  });

  it("reads stdin from a file it is given", async () => {
    await writeFile(join(dir, "in"), "from a file\n");
    const input = await open(join(dir, "in"), "r");
    try {
      const child = runner.spawn({ ...sh("cat"), stdinFd: input.fd });
      expect(Buffer.concat(await child.stdout.toArray()).toString()).toBe("from a file\n");
      await expect(child.exited).resolves.toMatchObject({ exitCode: 0 });
    } finally {
      await input.close();
    }
  });

  it("kills the child's whole process group, what it started included", async () => {
    const child = runner.spawn(sh("sleep 600 & echo $!; wait"));
    const [line] = await child.stdout.map(String).take(1).toArray();
    const grandchild = Number(line);
    expect(alive(grandchild)).toBe(true);
    child.kill();
    await expect(child.exited).resolves.toMatchObject({ exitCode: 137 });
    for (let i = 0; i < 100 && alive(grandchild); i++) await sleep(10);
    expect(alive(grandchild)).toBe(false);
    expect(runner.liveChildren).toBe(0);
  });

  it("keeps a child that asks for it in the daemon's session, and kills it alone", async () => {
    const child = runner.spawn({ ...sh("echo $$; exec sleep 600"), sameSession: true });
    const [line] = await child.stdout.map(String).take(1).toArray();
    const session = (pid: number | string) => readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[3];
    expect(session(Number(line))).toBe(session("self"));
    child.kill();
    await expect(child.exited).resolves.toMatchObject({ exitCode: 137 });
  });

  it("kills the child when the caller's signal aborts", async () => {
    const abort = new AbortController();
    const child = runner.spawn(sh("sleep 600"), { signal: abort.signal });
    abort.abort();
    await expect(child.exited).resolves.toMatchObject({ exitCode: 137 });
  });
});
