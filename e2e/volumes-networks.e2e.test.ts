import { beforeAll, describe, expect, inject, it } from "vitest";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

const dockerHost = inject("dockerHost");

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const lines = (text: string) => text.split("\n").filter(Boolean).sort();
  const name = (kind: string) => `e2e-${kind}-${cell.cli.replace(/\W/g, "")}`;

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
  });

  it("docker volume create/ls/inspect/rm", async () => {
    const volume = name("vol");
    const created = await docker("volume", "create", "--label", "e2e=yes", volume);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout.trim()).toBe(volume);
    try {
      const listed = await docker("volume", "ls", "--filter", "label=e2e=yes", "--format", "{{.Driver}} {{.Name}}");
      expect(lines(listed.stdout)).toContain(`local ${volume}`);
      const inspected = await docker("volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{index .Labels \"e2e\"}}", volume);
      expect(inspected.stdout.trim()).toBe(`${volume} local local yes`);
      // The engine itself sees it.
      expect((await engineNerdctl(["volume", "ls", "--quiet"], { namespace: cell.namespace })).stdout).toContain(volume);
    } finally {
      const removed = await docker("volume", "rm", volume);
      expect(removed.exitCode, removed.stderr).toBe(0);
    }
    const missing = await docker("volume", "inspect", volume);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toMatch(/no such volume/i);
  });

  it("docker volume rm of a volume in use", async () => {
    const volume = name("busyvol");
    expect((await docker("volume", "create", volume)).exitCode).toBe(0);
    const made = await engineNerdctl(["create", "--name", volume, "--volume", `${volume}:/data`, "busybox"], { namespace: cell.namespace });
    expect(made.exitCode, made.stderr).toBe(0);
    try {
      const refused = await docker("volume", "rm", volume);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/in use/);
    } finally {
      await engineNerdctl(["rm", "--force", volume], { namespace: cell.namespace });
      await engineNerdctl(["volume", "rm", volume], { namespace: cell.namespace });
    }
  });

  it("docker volume prune", async () => {
    const volume = name("prunevol");
    expect((await docker("volume", "create", "--label", "e2e-prune=yes", volume)).exitCode).toBe(0);
    const pruned = await docker("volume", "prune", "--force", "--all", "--filter", "label=e2e-prune=yes");
    // docker 20.10's prune has no --all (it prunes named volumes anyway).
    const result = pruned.exitCode === 0 ? pruned : await docker("volume", "prune", "--force", "--filter", "label=e2e-prune=yes");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(volume);
    expect((await engineNerdctl(["volume", "ls", "--quiet"], { namespace: cell.namespace })).stdout).not.toContain(volume);
  });

  it("docker network create/ls/inspect/rm", async () => {
    const network = name("net");
    const created = await docker("network", "create", "--label", "e2e=yes", network);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    try {
      const listed = await docker("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}");
      expect(lines(listed.stdout)).toEqual(expect.arrayContaining([`${network} bridge local`, "host host local", "none null local"]));
      const inspected = await docker("network", "inspect", "--format", "{{.Name}} {{.Driver}} {{index .Labels \"e2e\"}} {{len .IPAM.Config}}", network);
      expect(inspected.stdout.trim()).toBe(`${network} bridge yes 1`);
      const duplicate = await docker("network", "create", network);
      expect(duplicate.exitCode).not.toBe(0);
      expect(duplicate.stderr).toContain("already exists");
    } finally {
      const removed = await docker("network", "rm", network);
      expect(removed.exitCode, removed.stderr).toBe(0);
    }
    const builtin = await docker("network", "rm", "bridge");
    expect(builtin.exitCode).not.toBe(0);
    expect(builtin.stderr).toContain("pre-defined network");
  });

  it("docker network prune", async () => {
    const network = name("prunenet");
    expect((await docker("network", "create", "--label", "e2e-prune=yes", network)).exitCode).toBe(0);
    const pruned = await docker("network", "prune", "--force", "--filter", "label=e2e-prune=yes");
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(network);
    expect((await engineNerdctl(["network", "ls", "--format", "{{.Name}}"], { namespace: cell.namespace })).stdout).not.toContain(network);
  });
});
