import { beforeAll, describe, expect, inject, it } from "vitest";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

/*
 * `docker system df` and `docker system df -v` against nerdctld, checked
 * against what the engine itself lists in the cell's namespace. Reads only.
 */

const dockerHost = inject("dockerHost");
const SIZE = /^\d+(\.\d+)?(B|kB|MB|GB)$/;

/** `nerdctl args` in the namespace, as lines. */
async function engineLines(namespace: string, args: string[]): Promise<string[]> {
  const result = await engineNerdctl(args, { namespace });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.split("\n").filter(Boolean);
}

/** The rows of a table the docker CLI printed (columns split on two or more spaces). */
function rows(table: string): string[][] {
  return table
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s{2,}/));
}

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
  });

  it("docker system df", async () => {
    const [all, running, volumes] = await Promise.all([
      engineLines(cell.namespace, ["ps", "--all", "--quiet"]),
      engineLines(cell.namespace, ["ps", "--quiet"]),
      engineLines(cell.namespace, ["volume", "ls", "--quiet"]),
    ]);
    const images = new Set((await docker("images", "--quiet", "--no-trunc")).stdout.split("\n").filter(Boolean));
    const result = await docker("system", "df");
    expect(result.exitCode, result.stderr).toBe(0);
    const [header, ...table] = rows(result.stdout);
    expect(header).toEqual(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    const byType = Object.fromEntries(table.map(([type, ...rest]) => [type, rest]));
    expect(Object.keys(byType)).toEqual(["Images", "Containers", "Local Volumes", "Build Cache"]);
    expect(byType.Images![0]).toBe(String(images.size));
    expect(Number(byType.Images![1])).toBeGreaterThanOrEqual(1);
    expect(byType.Images![2]).toMatch(SIZE);
    expect(byType.Images![2]).not.toBe("0B");
    expect(byType.Containers!.slice(0, 2)).toEqual([String(all.length), String(running.length)]);
    expect(byType.Containers![2]).toMatch(SIZE);
    expect(byType["Local Volumes"]![0]).toBe(String(volumes.length));
    expect(byType["Build Cache"]![2]).toMatch(SIZE);

    const json = await docker("system", "df", "--format", "{{json .}}");
    expect(json.exitCode, json.stderr).toBe(0);
    const lines = json.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { Type: string; TotalCount: string; Active: string });
    expect(lines.find((line) => line.Type === "Containers")).toMatchObject({ TotalCount: String(all.length), Active: String(running.length) });
  });

  it("docker system df -v", async () => {
    const names = await engineLines(cell.namespace, ["ps", "--all", "--format", "{{.Names}}\t{{.Image}}"]);
    const fromBusybox = names.filter((line) => /busybox/.test(line.split("\t")[1] ?? "")).length;
    const volumes = await engineLines(cell.namespace, ["volume", "ls", "--quiet"]);
    const result = await docker("system", "df", "--verbose");
    expect(result.exitCode, result.stderr).toBe(0);
    const out = result.stdout;
    const section = (title: string, next?: string) => out.slice(out.indexOf(title) + title.length, next ? out.indexOf(next) : undefined);
    for (const title of ["Images space usage:", "Containers space usage:", "Local Volumes space usage:", "Build cache usage:"]) expect(out).toContain(title);

    const images = rows(section("Images space usage:", "Containers space usage:"));
    expect(images[0]).toEqual(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"]);
    const busybox = images.find((row) => row[0] === "busybox" && row[1] === "latest")!;
    expect(busybox).toBeDefined();
    expect(busybox[2]).toMatch(/^[0-9a-f]{12}$/);
    expect(busybox[4]).toMatch(SIZE);
    expect(busybox[5]).toMatch(SIZE);
    expect(busybox[6]).toMatch(SIZE);
    expect(busybox[7]).toBe(String(fromBusybox));

    const containers = rows(section("Containers space usage:", "Local Volumes space usage:"));
    expect(containers[0]).toEqual(["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"]);
    const byName = Object.fromEntries(containers.slice(1).map((row) => [row.at(-1), row]));
    expect(Object.keys(byName).sort()).toEqual(names.map((line) => line.split("\t")[0]).sort());
    for (const name of ["web", "done", "fresh"]) expect(byName[name]![4]).toMatch(SIZE);
    expect(byName.web![6]).toMatch(/^Up /);
    expect(byName.done![6]).toMatch(/^Exited \(0\)/);

    const volumeRows = rows(section("Local Volumes space usage:", "Build cache usage:"));
    expect(volumeRows[0]).toEqual(["VOLUME NAME", "LINKS", "SIZE"]);
    expect(volumeRows.slice(1).map((row) => row[0]).sort()).toEqual([...volumes].sort());
    expect(section("Build cache usage:")).toMatch(/^ \d+(\.\d+)?(B|kB|MB|GB)\n/);
  });
});
