import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

const dockerHost = inject("dockerHost");

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const nerdctl = (...args: string[]) => engineNerdctl(args, { namespace: cell.namespace });
  /** Names of this cell's own, so that cells sharing a namespace never meet. */
  const tag = `${cell.cli.replace(/\W/g, "")}-${cell.namespace.replace(/\W/g, "")}`;
  const name = (what: string) => `create-${what}-${tag}`;
  const network = name("net");
  const volume = name("vol");
  const made: string[] = [];

  /** A container made with the docker CLI, removed with the cell. */
  async function create(...args: string[]): Promise<string> {
    const result = await docker("create", ...args);
    expect(result.exitCode, result.stderr).toBe(0);
    const id = result.stdout.trim().split("\n").at(-1)!;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    made.push(id);
    return id;
  }

  async function inspect<T>(ref: string, format: string): Promise<T> {
    const result = await docker("inspect", "--format", `{{json ${format}}}`, ref);
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
    const created = await nerdctl("network", "create", network);
    expect(created.exitCode, created.stderr).toBe(0);
  });

  afterAll(async () => {
    if (made.length) await nerdctl("rm", "--force", ...made);
    await nerdctl("network", "rm", network);
    await nerdctl("volume", "rm", volume);
  });

  it("docker create with a broad set of flags, then docker inspect", async () => {
    const id = await create(
      "--name", name("broad"),
      "-e", "GREETING=hello", "-w", "/tmp", "-u", "1000:1000", "--entrypoint", "sh", "-l", "e2e=create",
      "-p", "8080:80", "--read-only", "--cap-drop", "NET_RAW", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50",
      "--ulimit", "nofile=1024:2048", "--dns", "1.1.1.1", "--add-host", "db:10.1.2.3", "--tmpfs", "/run:size=1m", "--init",
      "--network", network, "-v", `${volume}:/data`, "-v", `/tmp/nerdctld-e2e-create-${tag}:/hostdata`,
      "--health-cmd", "true", "--restart", "always", "-it",
      "busybox", "-c", "echo hi",
    );
    const config = await inspect<Record<string, unknown>>(id, ".Config");
    expect(config).toMatchObject({
      User: "1000:1000",
      WorkingDir: "/tmp",
      Entrypoint: ["sh"],
      Cmd: ["-c", "echo hi"],
      Labels: { e2e: "create" },
      ExposedPorts: { "80/tcp": {} },
      Tty: true,
      OpenStdin: true,
      AttachStdin: true,
      Healthcheck: { Test: ["CMD-SHELL", "true"] },
    });
    expect(config.Env).toContain("GREETING=hello");
    const host = await inspect<Record<string, unknown>>(id, ".HostConfig");
    expect(host).toMatchObject({
      ReadonlyRootfs: true,
      CapDrop: expect.arrayContaining([expect.stringMatching(/^(CAP_)?NET_RAW$/)]),
      Memory: 64 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 50,
      Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }],
      Dns: ["1.1.1.1"],
      ExtraHosts: ["db:10.1.2.3"],
      Tmpfs: { "/run": "size=1m" },
      Init: true,
      NetworkMode: network,
      PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] },
      RestartPolicy: { Name: "always", MaximumRetryCount: 0 },
      // In the order the client sent them: the docker CLI 20.10 sends -v's in no fixed order.
      Binds: expect.arrayContaining([`${volume}:/data`, `/tmp/nerdctld-e2e-create-${tag}:/hostdata`]),
      AutoRemove: false,
    });
    expect(host.Binds).toHaveLength(2);
    const mounts = await inspect<{ Type: string; Name?: string; Destination: string }[]>(id, ".Mounts");
    expect(mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Type: "volume", Name: volume, Destination: "/data" }),
        expect.objectContaining({ Type: "bind", Destination: "/hostdata" }),
      ]),
    );
    expect(await inspect<string>(id, ".State.Status")).toBe("created");
    expect(await inspect<string>(id, ".Path")).toBe("sh");
  });

  it("docker create --rm records AutoRemove", async () => {
    const id = await create("--rm", "--name", name("rm"), "busybox", "true");
    expect(await inspect<boolean>(id, ".HostConfig.AutoRemove")).toBe(true);
  });

  it("docker create: what it set holds when the container runs", async () => {
    const id = await create("--name", name("runs"), "--read-only", "-u", "1000:1000", "busybox", "sh", "-c", "id -u; touch /x 2>/dev/null && echo writable || echo read-only");
    const started = await nerdctl("start", "--attach", id);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout.trim().split("\n")).toEqual(["1000", "read-only"]);
  });

  it("docker create --name twice", async () => {
    const first = await create("--name", name("twice"), "busybox");
    const second = await docker("create", "--name", name("twice"), "busybox");
    expect(second.exitCode).not.toBe(0);
    expect(second.stderr).toContain(
      `Conflict. The container name "/${name("twice")}" is already in use by container "${first}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
  });

  it("docker create with an invalid name", async () => {
    const result = await docker("create", "--name", "bad name!", "busybox");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  });

  it("docker create with a missing image", async () => {
    const result = await docker("create", "--pull", "never", "nosuch-create-e2e:1");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("No such image: nosuch-create-e2e:1");
    const listed = await nerdctl("ps", "--all", "--format", "{{.Image}}");
    expect(listed.stdout).not.toContain("nosuch-create-e2e");
  });

  it("docker create with a field nerdctl cannot honour", async () => {
    const result = await docker("create", "--device-cgroup-rule", "c 1:3 rwm", "busybox");
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("HostConfig.DeviceCgroupRules is not supported");
  });
});
