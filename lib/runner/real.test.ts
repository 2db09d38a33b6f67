import { readFileSync } from "node:fs";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, assert, beforeEach, describe, expect, it, vi } from "vitest";
import { RealRunner } from "./real.ts";
import type { InteractiveCommand } from "./types.ts";

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

/** All a child prints, as it comes (read from the start: unread output is not kept for later). */
function output(child: InteractiveCommand) {
  const seen = { text: "", done: finished(child.stdout) };
  child.stdout.on("data", (chunk: Buffer) => (seen.text += chunk.toString()));
  return seen;
}

describe("RealRunner.interactive", () => {
  it("talks to a child over pipes: its stdin closes while its output goes on, stderr apart", async () => {
    const child = runner.interactive(sh("cat; echo closed; echo oops >&2; exit 3"));
    assert(!child.tty);
    const stderr = child.stderr.toArray();
    const stdout = output(child);
    child.stdin.write("hello\n");
    await vi.waitFor(() => expect(stdout.text).toBe("hello\n"));
    child.stdin.end();
    await expect(child.exited).resolves.toEqual({ exitCode: 3 });
    await stdout.done;
    expect(stdout.text).toBe("hello\nclosed\n");
    expect(Buffer.concat(await stderr).toString()).toBe("oops\n");
  });

  it("gives a child a terminal of the size asked for, and resizes it", async () => {
    const child = runner.interactive(sh("stty size; read line; stty size"), { tty: { columns: 100, rows: 30 } });
    assert(child.tty);
    const terminal = output(child);
    await vi.waitFor(() => expect(terminal.text).toBe("30 100\r\n"));
    child.resize(120, 40);
    child.stdin.write("\n");
    await expect(child.exited).resolves.toEqual({ exitCode: 0 });
    await terminal.done;
    // The terminal echoes what it is typed.
    expect(terminal.text).toBe("30 100\r\n\r\n40 120\r\n");
  });

  it("ends a terminal's input without a final newline", async () => {
    const child = runner.interactive(sh("cat; echo closed"), { tty: { columns: 80, rows: 24 } });
    const terminal = output(child);
    child.stdin.write("abc");
    child.stdin.end();
    await expect(child.exited).resolves.toEqual({ exitCode: 0 });
    await terminal.done;
    expect(terminal.text).toBe("abcabcclosed\r\n");
  });

  it.each([
    ["pipes", undefined],
    ["a terminal", { columns: 80, rows: 24 }],
  ])("kills the child's whole process group over %s", async (_, tty) => {
    const child = runner.interactive(sh("sleep 600 & echo $!; wait"), { tty });
    const printed = output(child);
    await vi.waitFor(() => expect(printed.text).toMatch(/^\d+\r?\n/));
    const grandchild = Number.parseInt(printed.text);
    expect(alive(grandchild)).toBe(true);
    child.kill();
    await expect(child.exited).resolves.toEqual({ exitCode: 137, signal: "SIGKILL" });
    for (let i = 0; i < 100 && alive(grandchild); i++) await sleep(10);
    expect(alive(grandchild)).toBe(false);
    expect(runner.liveChildren).toBe(0);
  });
});
