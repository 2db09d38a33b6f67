import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX, terminalIn } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

const dockerHost = inject("dockerHost");

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const piped = (input: string, ...args: string[]) => dockerIn(cell, dockerHost, args, input);
  // Containers of this cell's own, made with plain nerdctl: both CLIs share a namespace.
  const suffix = cell.cli.replace(/\W/g, "");
  const running = `exec-${suffix}`;
  const stopped = `exec-stopped-${suffix}`;
  const nerdctl = async (...args: string[]) => {
    const result = await engineNerdctl(args, { namespace: cell.namespace });
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout.trim();
  };

  const terminal = (...args: string[]) => terminalIn(cell, dockerHost, args);

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
    await engineNerdctl(["rm", "--force", running, stopped], { namespace: cell.namespace });
    await nerdctl("run", "-d", "--name", running, "busybox:latest", "sleep", "3600");
    await nerdctl("run", "--name", stopped, "busybox:latest", "true");
  });

  afterAll(async () => {
    await engineNerdctl(["rm", "--force", running, stopped], { namespace: cell.namespace });
  });

  it("docker exec", async () => {
    const result = await docker("exec", running, "echo", "hi");
    expect(result).toMatchObject({ stdout: "hi", exitCode: 0 });
  });

  it("docker exec exits with the process's exit code", async () => {
    expect((await docker("exec", running, "sh", "-c", "exit 7")).exitCode).toBe(7);
  });

  it("docker exec keeps stderr apart from stdout", async () => {
    const result = await docker("exec", running, "sh", "-c", "echo out; echo err >&2; exit 3");
    expect(result).toMatchObject({ stdout: "out", stderr: "err", exitCode: 3 });
  });

  it("docker exec -i with piped stdin", async () => {
    const result = await piped("hi\n", "exec", "-i", running, "cat");
    expect(result).toMatchObject({ stdout: "hi", exitCode: 0 });
    // The end of the input reaches the process while its output still comes back.
    const counted = await piped("a\nb\nc\n", "exec", "-i", running, "sh", "-c", "wc -l; echo done");
    expect(counted.stdout.split("\n").map((line) => line.trim())).toEqual(["3", "done"]);
  });

  it("docker exec -u -e -w", async () => {
    expect((await docker("exec", "-u", "nobody", running, "id", "-u")).stdout).toBe("65534");
    expect((await docker("exec", "-e", "FOO=bar baz", running, "sh", "-c", 'echo "$FOO"')).stdout).toBe("bar baz");
    expect((await docker("exec", "-w", "/tmp", running, "pwd")).stdout).toBe("/tmp");
  });

  it("docker exec -d", async () => {
    const started = await docker("exec", "-d", running, "sh", "-c", "sleep 1; echo later > /tmp/detached");
    expect(started).toMatchObject({ stdout: "", exitCode: 0 });
    let written = "";
    for (let i = 0; i < 50 && written !== "later"; i++) {
      await sleep(200);
      written = (await docker("exec", running, "cat", "/tmp/detached")).stdout;
    }
    expect(written).toBe("later");
  });

  it("docker exec of a command that does not exist", async () => {
    const result = await docker("exec", running, "nosuchcommand");
    expect(result.exitCode).toBe(126);
    expect(result.stdout).toMatch(/^OCI runtime exec failed: .*exec: "nosuchcommand": executable file not found in \$PATH: unknown$/);
    const user = await docker("exec", "-u", "nosuchuser", running, "true");
    expect(user).toMatchObject({ stdout: "unable to find user nosuchuser: no matching entries in passwd file", exitCode: 126 });
    const detached = await docker("exec", "-d", running, "nosuchcommand");
    expect(detached.exitCode).toBe(1);
    expect(detached.stderr).toMatch(/^Error response from daemon: OCI runtime exec failed: .*executable file not found in \$PATH: unknown$/);
  });

  it("docker exec in a stopped container", async () => {
    const id = await nerdctl("inspect", "--format", "{{.Id}}", stopped);
    const result = await docker("exec", stopped, "true");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`Container ${id} is not running`);
  });

  it("docker exec in an unknown container", async () => {
    const result = await docker("exec", "nosuch", "true");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("No such container: nosuch");
  });

  it("docker exec -it, typed into a terminal: size, resize, TERM, exit", async () => {
    const tty = await terminal("exec", "-it", running, "sh");
    try {
      await tty.waitFor(/# $/);
      await tty.line("echo TERM=$TERM");
      await tty.waitFor(/^TERM=xterm$/m);
      // docker 20.10 sizes the terminal by a resize once the exec has started; docker 28 gives the size with the start.
      await tty.retype("stty size", /^30 100$/m);
      await tty.resize(120, 40);
      await tty.retype("stty size", /^40 120$/m);
      await tty.line("exit 3");
      expect(await tty.exited()).toBe(3);
    } finally {
      await tty.close();
    }
  });

  it("docker exec -it detaches on ctrl-p ctrl-q and the shell keeps running", async () => {
    const tty = await terminal("exec", "-it", running, "sh");
    let pid = "";
    try {
      await tty.waitFor(/# $/);
      await tty.line("echo PID=$$");
      pid = /^PID=(\d+)$/m.exec(await tty.waitFor(/^PID=\d+$/m))![1]!;
      await tty.press("C-p", "C-q");
      await tty.exited();
      expect(await tty.screen()).toMatch(/read escape sequence/);
    } finally {
      await tty.close();
    }
    expect((await docker("exec", running, "kill", "-0", pid)).exitCode).toBe(0);
    await docker("exec", running, "kill", "-9", pid);
  });
});
