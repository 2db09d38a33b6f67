import { beforeAll, describe, expect, inject, it } from "vitest";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

const dockerHost = inject("dockerHost");

/** Container names as the engine itself lists them in a namespace. */
async function engineNames(namespace: string, all: boolean): Promise<string[]> {
  const result = await engineNerdctl(["ps", ...(all ? ["--all"] : []), "--format", "{{.Names}}"], { namespace });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.split("\n").filter(Boolean).sort();
}

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const lines = (text: string) => text.split("\n").filter(Boolean).sort();

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
  });

  it("docker ps", async () => {
    const result = await docker("ps", "--format", "{{.Names}}");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual(await engineNames(cell.namespace, false));
    const table = await docker("ps");
    expect(table.stdout).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
    expect(table.stdout).toMatch(/busybox:latest\s+"sleep 3600"\s+.+ ago\s+Up .+\s+web$/m);
  });

  it("docker ps -a", async () => {
    const result = await docker("ps", "--all", "--format", "{{.Names}}\t{{.Status}}");
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = Object.fromEntries(lines(result.stdout).map((line) => line.split("\t")));
    expect(Object.keys(rows).sort()).toEqual(await engineNames(cell.namespace, true));
    expect(rows.web).toMatch(/^Up /);
    expect(rows.done).toMatch(/^Exited \(0\) .+ ago$/);
    expect(rows.fresh).toBe("Created");
  });

  it("docker ps --filter", async () => {
    const exited = await docker("ps", "--all", "--filter", "status=exited", "--filter", "name=done", "--format", "{{.Names}}");
    expect(exited.exitCode, exited.stderr).toBe(0);
    expect(lines(exited.stdout)).toEqual(["done"]);
    const bad = await docker("ps", "--filter", "bogus=1");
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain("invalid filter 'bogus'");
  });

  it("docker ps --format json", async () => {
    const result = await docker("ps", "--all", "--format", "{{json .}}");
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = lines(result.stdout).map((line) => JSON.parse(line) as Record<string, string>);
    const web = rows.find((row) => row.Names === "web")!;
    expect(web).toMatchObject({ Image: "busybox:latest", Command: '"sleep 3600"', State: "running", Networks: "bridge" });
    expect(web.ID).toMatch(/^[0-9a-f]{12}$/);
  });

  it("docker inspect", async () => {
    const result = await docker("inspect", "--format", "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.Config.Image}}", "web", "done", "fresh");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual(["/done exited 0 busybox:latest", "/fresh created 0 busybox:latest", "/web running 0 busybox:latest"]);
    const missing = await docker("inspect", "nosuch");
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toMatch(/No such object: nosuch|No such container: nosuch/);
  });

  it("docker top", async () => {
    const result = await docker("top", "web");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n/);
    expect(result.stdout).toMatch(/sleep 3600/);
    const stopped = await docker("top", "done");
    expect(stopped.exitCode).not.toBe(0);
    expect(stopped.stderr).toContain("Container done is not running");
  });

  it("docker stats --no-stream", async () => {
    const result = await docker("stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", "web");
    expect(result.exitCode, result.stderr).toBe(0);
    // A running sleep: some memory, within a limit, one process.
    expect(result.stdout.trim()).toMatch(/^web \d+\.\d+% [\d.]+[KMG]?i?B \/ [\d.]+[KMG]iB 1$/);
  });

  it("docker diff", async () => {
    const result = await docker("diff", "web");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^A \/etc\/hostname$/m);
  });

  it("docker export", async () => {
    const result = await docker("export", "done");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("bin/busybox");
  });

  it("docker container prune", async () => {
    const made = await engineNerdctl(["run", "--name", "prune-me", "--label", "e2e=prune", "busybox", "true"], { namespace: cell.namespace });
    expect(made.exitCode, made.stderr).toBe(0);
    const result = await docker("container", "prune", "--force", "--filter", "label=e2e=prune");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n/);
    expect(await engineNames(cell.namespace, true)).not.toContain("prune-me");
  });

  it("docker logs", async () => {
    const made = await engineNerdctl(
      ["run", "--name", "talker", "busybox", "sh", "-c", "echo one; echo two >&2; echo three"],
      { namespace: cell.namespace },
    );
    expect(made.exitCode, made.stderr).toBe(0);
    try {
      const all = await docker("logs", "talker");
      expect(all.exitCode, all.stderr).toBe(0);
      expect(all.stdout.split("\n").filter(Boolean)).toEqual(["one", "three"]);
      expect(all.stderr.trim()).toBe("two");
      const tail = await docker("logs", "--tail", "1", "--timestamps", "talker");
      expect(tail.exitCode, tail.stderr).toBe(0);
      expect(`${tail.stdout}${tail.stderr}`.trim()).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z (three|two)$/);
      // follow ends with the container: it has exited already.
      const followed = await docker("logs", "--follow", "--since", "2000-01-01T00:00:00Z", "talker");
      expect(followed.exitCode, followed.stderr).toBe(0);
      expect(followed.stdout).toContain("three");
      const missing = await docker("logs", "nosuch");
      expect(missing.exitCode).not.toBe(0);
      expect(missing.stderr).toContain("No such container: nosuch");
    } finally {
      await engineNerdctl(["rm", "--force", "talker"], { namespace: cell.namespace });
    }
  });
});

