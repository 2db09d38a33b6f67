import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LABELLED_IMAGE, textImage, UNDATED_IMAGE, UNTAGGED_IMAGE, type TextImage } from "../scripts/scenarios/images.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

/*
 * The docker CLI's image commands against nerdctld, compared with what the
 * same CLIs print against dockerd (20.10, Debian's) for the same images: same
 * columns, same kinds of values, same messages; ids and times aside. Each
 * cell loads two small images of its own (e2e/labelled:1, two layers with
 * labels; and one without a name) and removes them again; busybox and the
 * containers of the seed are left as they were.
 */

const dockerHost = inject("dockerHost");

/** What dockerd prints, header by header (observed with both CLIs). */
const HEADERS = {
  images: /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/,
  digests: /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/,
  history: /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/,
};
/** Keys of `docker images --format '{{json .}}'` lines, as both CLIs print them for dockerd. */
const IMAGE_LINE_KEYS = ["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"];
/** Keys of `docker history --format '{{json .}}'` lines. */
const HISTORY_LINE_KEYS = ["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"];
/** Keys of `docker image inspect --format '{{json .}}'`: the 20.10 CLI prints Container, the 28.x one leaves it out when empty. */
const INSPECT_KEYS = [
  "Architecture", "Author", "Comment", "Config", "ContainerConfig", "Created", "DockerVersion", "GraphDriver", "Id", "Metadata", "Os",
  "Parent", "RepoDigests", "RepoTags", "RootFS", "Size", "VirtualSize",
];
const AGO = /^(Less than a second|\d+ seconds?|About a minute|\d+ minutes|About an hour|\d+ hours|\d+ days|\d+ weeks|\d+ months|\d+ years) ago$/;
const SIZE = /^\d+(\.\d+)?(B|kB|MB|GB)$/;

let labelled: TextImage;
let untagged: TextImage;
let undated: TextImage;
beforeAll(async () => {
  [labelled, untagged, undated] = await Promise.all([textImage(LABELLED_IMAGE), textImage(UNTAGGED_IMAGE), textImage(UNDATED_IMAGE)]);
});

/**
 * Puts an image archive where the engine's nerdctl can read it (nerdctl load
 * wants a file or a FIFO on stdin, not the socket a child's stdin is here):
 * on this host, or copied into the engine's container.
 */
async function putOnEngine(image: TextImage): Promise<string> {
  const name = `nerdctld-e2e-image-${image.imageId.slice(7, 19)}.tar`;
  const local = join(tmpdir(), name);
  await writeFile(local, image.archive);
  const access = inject("engine");
  if (access.kind === "host") return local;
  const copied = await execa(access.docker, ["cp", local, `${access.containerId}:/tmp/${name}`], {
    env: { DOCKER_HOST: access.dockerHost, DOCKER_CONFIG: "/tmp/nerdctld-e2e-docker-config" },
    reject: false,
  });
  if (copied.exitCode !== 0) throw new Error(`docker cp ${name}: ${String(copied.stderr)}`);
  return `/tmp/${name}`;
}

/** A table's rows as columns split on two or more spaces (the CLI's tabwriter). */
function table(stdout: string): string[][] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.trim().split(/\s{2,}/));
}

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const nerdctl = (...args: string[]) => engineNerdctl(args, { namespace: cell.namespace });
  const must = async (...args: string[]) => {
    const result = await docker(...args);
    expect(result.exitCode, `docker ${args.join(" ")}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };

  /** Loads a test image into the cell's namespace through nerdctl. */
  async function load(image: TextImage): Promise<void> {
    const path = await putOnEngine(image);
    const result = await engineNerdctl(["load", "--input", path], { namespace: cell.namespace });
    expect(result.exitCode, result.stderr).toBe(0);
  }

  /** Every record of the engine that belongs to this suite's images, as `id name`. */
  async function ownRecords(): Promise<{ id: string; name: string }[]> {
    const prefixes = [..."0123456789abcdef"].map((digit) => `sha256:${digit}`);
    const result = await nerdctl("image", "inspect", "--mode", "native", "--", ...prefixes);
    expect(result.exitCode, result.stderr).toBe(0);
    const records = (result.stdout.trim() ? JSON.parse(result.stdout) : []) as { Image: { Name: string }; ImageConfigDesc?: { digest: string } }[];
    const ours = new Set([labelled.imageId, untagged.imageId, undated.imageId]);
    return records
      .filter((record) => ours.has(record.ImageConfigDesc?.digest ?? ""))
      .map((record) => ({ id: record.ImageConfigDesc!.digest, name: record.Image.Name }));
  }

  async function cleanUp(): Promise<void> {
    await nerdctl("rm", "--force", "--", "undated");
    const records = await ownRecords();
    if (records.length) expect((await nerdctl("rmi", "--force", "--", ...records.map((record) => record.name))).exitCode).toBe(0);
  }

  /** busybox's record names before the suite, to check they are the same after. */
  let busyboxBefore: string[] = [];
  async function busyboxRecords(): Promise<string[]> {
    const result = await nerdctl("images", "--format", "{{.Name}}");
    return result.stdout.split("\n").filter((name) => name.includes("busybox")).sort();
  }

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
    await cleanUp();
    await load(labelled);
    await load(untagged);
    busyboxBefore = await busyboxRecords();
  });

  afterAll(async () => {
    await cleanUp();
    expect(await busyboxRecords()).toEqual(busyboxBefore);
  });

  it("docker images", async () => {
    const rows = table(await must("images"));
    expect(rows[0]!.join("  ")).toMatch(HEADERS.images);
    const byRepo = new Map(rows.slice(1).map((row) => [`${row[0]}:${row[1]}`, row]));
    expect(byRepo.get("e2e/labelled:1")).toEqual(["e2e/labelled", "1", labelled.imageId.slice(7, 19), expect.stringMatching(AGO), expect.stringMatching(SIZE)]);
    expect(byRepo.get("busybox:latest")?.slice(0, 3)).toEqual(["busybox", "latest", "bba85999f9ac"]);
    // dockerd shows the untagged image too, and nothing of nerdctl's import records.
    expect(byRepo.get("<none>:<none>")?.[2]).toBe(untagged.imageId.slice(7, 19));
    expect(rows.slice(1).every((row) => row.length === 5)).toBe(true);
    expect(rows.some((row) => row[0] === "import")).toBe(false);
  });

  it("docker images -a", async () => {
    const rows = table(await must("images", "-a"));
    expect(rows[0]!.join("  ")).toMatch(HEADERS.images);
    expect(rows.slice(1).map((row) => row[2]).sort()).toEqual(
      [labelled.imageId, untagged.imageId, "sha256:bba85999f9ac"].map((id) => id.slice(7, 19)).sort(),
    );
  });

  it("docker images --digests", async () => {
    const rows = table(await must("images", "--digests"));
    expect(rows[0]!.join("  ")).toMatch(HEADERS.digests);
    const row = rows.find((candidate) => candidate[0] === "e2e/labelled")!;
    // dockerd shows <none> for a loaded image; a containerd image always has its manifest digest.
    expect(row).toEqual(["e2e/labelled", "1", labelled.manifestDigest, labelled.imageId.slice(7, 19), expect.stringMatching(AGO), expect.stringMatching(SIZE)]);
    expect(rows.find((candidate) => candidate[0] === "<none>")).toEqual(["<none>", "<none>", "<none>", untagged.imageId.slice(7, 19), expect.stringMatching(AGO), expect.stringMatching(SIZE)]);
  });

  it("docker images --filter dangling=true", async () => {
    const rows = table(await must("images", "--filter", "dangling=true"));
    expect(rows[0]!.join("  ")).toMatch(HEADERS.images);
    expect(rows.slice(1).map((row) => row.slice(0, 3))).toEqual([["<none>", "<none>", untagged.imageId.slice(7, 19)]]);
    const bad = await docker("images", "--filter", "dangling=maybe");
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain("invalid filter 'dangling=[maybe]'");
  });

  it("docker images --filter reference=e2e/*", async () => {
    const rows = table(await must("images", "--filter", "reference=e2e/*"));
    expect(rows.slice(1).map((row) => row.slice(0, 2))).toEqual([["e2e/labelled", "1"]]);
    expect(table(await must("images", "busybox")).slice(1).map((row) => row.slice(0, 2))).toEqual([["busybox", "latest"]]);
    expect(table(await must("images", "--filter", "label=org.example.tier=a", "--format", "{{.Repository}}"))).toEqual([["e2e/labelled"]]);
  });

  if (cell.cli === "docker-28") {
    it("docker images --format json", async () => {
      const lines = (await must("images", "--format", "json")).split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, string>);
      const row = lines.find((line) => line.Repository === "e2e/labelled")!;
      expect(Object.keys(row).sort()).toEqual(IMAGE_LINE_KEYS);
      expect(row).toMatchObject({ Tag: "1", ID: labelled.imageId.slice(7, 19), Digest: "<none>", CreatedAt: "2024-02-01 00:00:00 +0000 UTC", Containers: "N/A", SharedSize: "N/A" });
    });
  }

  it("docker images --format '{{json .}}'", async () => {
    const lines = (await must("images", "--format", "{{json .}}")).split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, string>);
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(IMAGE_LINE_KEYS);
    expect(lines.map((line) => `${line.Repository}:${line.Tag}`)).toEqual(expect.arrayContaining(["e2e/labelled:1", "busybox:latest", "<none>:<none>"]));
    expect(lines.find((line) => line.Repository === "e2e/labelled")?.CreatedSince).toMatch(AGO);
  });

  it("docker image inspect", async () => {
    const [inspected] = JSON.parse(await must("image", "inspect", "e2e/labelled:1")) as Record<string, unknown>[];
    expect(inspected).toMatchObject({
      Id: labelled.imageId,
      RepoTags: ["e2e/labelled:1"],
      RepoDigests: [`e2e/labelled@${labelled.manifestDigest}`],
      Created: "2024-02-01T00:00:00Z",
      Architecture: "amd64",
      Os: "linux",
      Config: expect.objectContaining({ Cmd: ["sh"], Env: ["PATH=/bin"], Labels: { "org.example.kind": "test", "org.example.tier": "a" } }),
      RootFS: { Type: "layers", Layers: labelled.diffIds },
    });
    const keys = Object.keys(JSON.parse(await must("image", "inspect", "--format", "{{json .}}", "e2e/labelled:1")) as object).sort();
    expect(keys).toEqual(cell.cli === "docker-28" ? INSPECT_KEYS : [...INSPECT_KEYS, "Container"].sort());
    expect(await must("image", "inspect", "--format", "{{.Id}}", labelled.imageId.slice(7, 19))).toBe(labelled.imageId);
    const missing = await docker("image", "inspect", "nosuch");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("No such image: nosuch");
  });

  it("docker history", async () => {
    const rows = table(await must("history", "e2e/labelled:1"));
    expect(rows[0]!.join("  ")).toMatch(HEADERS.history);
    expect(rows.slice(1)).toEqual([
      [labelled.imageId.slice(7, 19), expect.stringMatching(AGO), "LABEL org.example.kind=test org.example.tier…", "0B"],
      ["<missing>", expect.stringMatching(AGO), "ADD layer2.txt /", expect.stringMatching(SIZE)],
      ["<missing>", expect.stringMatching(AGO), "ADD layer1.txt /", expect.stringMatching(SIZE)],
    ]);
    const lines = (await must("history", "--no-trunc", "--format", "{{json .}}", "e2e/labelled:1")).split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, string>);
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(HISTORY_LINE_KEYS);
    expect(lines[0]).toMatchObject({ ID: labelled.imageId, CreatedAt: "2024-02-01T00:00:00Z", Size: "0B" });
    const missing = await docker("history", "nosuch");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("No such image: nosuch:latest");
  });

  // nerdctl 2.3.5 crashes (a Go panic) reading an image whose config and history have no dates.
  it("docker ps -a and docker history over an image nerdctl crashes on", async () => {
    await load(undated);
    const created = await nerdctl("create", "--name", "undated", "e2e/undated:1");
    expect(created.exitCode, created.stderr).toBe(0);
    try {
      const listed = table(await must("ps", "-a", "--format", "{{.Names}}  {{.Image}}"));
      expect(listed).toContainEqual(["undated", "e2e/undated:1"]);
      expect(listed.map((row) => row[0])).toEqual(expect.arrayContaining(["web", "done", "fresh"]));
      const rows = table(await must("history", "e2e/undated:1"));
      expect(rows[0]!.join("  ")).toMatch(HEADERS.history);
      // No date: the 28.x CLI says N/A, the 20.10 one counts from 1970.
      const undatedAgo = expect.stringMatching(/^(N\/A|\d+ years ago)$/);
      expect(rows.slice(1)).toEqual([[undated.imageId.slice(7, 19), undatedAgo, "ADD layer1.txt /", expect.stringMatching(SIZE)]]);
      expect(table(await must("images", "e2e/undated")).slice(1).map((row) => row.slice(0, 3))).toEqual([["e2e/undated", "1", undated.imageId.slice(7, 19)]]);
      expect(await must("image", "inspect", "--format", "{{.Id}}", "e2e/undated:1")).toBe(undated.imageId);
    } finally {
      expect((await nerdctl("rm", "--force", "--", "undated")).exitCode).toBe(0);
    }
    expect(await must("rmi", "e2e/undated:1")).toContain(`Deleted: ${undated.imageId}`);
  });

  it("docker tag", async () => {
    await must("tag", "e2e/labelled:1", "e2e/labelled:tagged");
    const names = (await nerdctl("images", "--format", "{{.Repository}}:{{.Tag}}")).stdout.split("\n");
    expect(names).toContain("e2e/labelled:tagged");
    expect(table(await must("images", "e2e/labelled")).slice(1).map((row) => row.slice(0, 3))).toEqual([
      ["e2e/labelled", "1", labelled.imageId.slice(7, 19)],
      ["e2e/labelled", "tagged", labelled.imageId.slice(7, 19)],
    ]);
    const upper = await docker("tag", "e2e/labelled:1", "e2e/UPPER");
    expect(upper.exitCode).not.toBe(0);
    expect(upper.stderr).toMatch(/invalid reference format: repository name (\(.*\) )?must be lowercase/);
    const missing = await docker("tag", "nosuch", "x");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("No such image: nosuch:latest");
  });

  it("docker rmi", async () => {
    expect(await must("rmi", "e2e/labelled:tagged")).toBe("Untagged: e2e/labelled:tagged");
    const used = await docker("rmi", "busybox");
    expect(used.exitCode).toBe(1);
    expect(used.stderr).toMatch(
      /^Error response from daemon: conflict: unable to remove repository reference "busybox" \(must force\) - container [0-9a-f]{12} is using its referenced image bba85999f9ac$/m,
    );
    const running = await docker("rmi", "-f", "bba85999f9ac");
    expect(running.exitCode).toBe(1);
    expect(running.stderr).toMatch(/conflict: unable to delete bba85999f9ac \(cannot be forced\) - image is being used by running container [0-9a-f]{12}/);
    const missing = await docker("rmi", "nosuch");
    expect(missing.exitCode).toBe(1);
    // As each CLI words dockerd's 404 (the 20.10 one replaces the daemon's message with its own).
    expect(missing.stderr.trim()).toBe(cell.cli === "docker-28" ? "Error response from daemon: No such image: nosuch:latest" : "Error: No such image: nosuch");
  });

  it("docker rmi -f", async () => {
    await must("tag", "e2e/labelled:1", "e2e/labelled:2");
    const refused = await docker("rmi", labelled.imageId.slice(7, 19));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`conflict: unable to delete ${labelled.imageId.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    const lines = (await must("rmi", "-f", labelled.imageId.slice(7, 19))).split("\n");
    expect(lines).toEqual([
      "Untagged: e2e/labelled:1",
      "Untagged: e2e/labelled:2",
      `Deleted: ${labelled.imageId}`,
      expect.stringMatching(/^Deleted: sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^Deleted: sha256:[0-9a-f]{64}$/),
    ]);
    // Gone from the engine too, nerdctl's import record included.
    expect((await ownRecords()).filter((record) => record.id === labelled.imageId)).toEqual([]);
    expect(table(await must("images", "-a")).some((row) => row[2] === labelled.imageId.slice(7, 19))).toBe(false);
    await load(labelled);
  });

  it("docker image prune", async () => {
    const output = await must("image", "prune", "--force");
    expect(output.split("\n")).toEqual([
      "Deleted Images:",
      `deleted: ${untagged.imageId}`,
      expect.stringMatching(/^deleted: sha256:[0-9a-f]{64}$/),
      "",
      expect.stringMatching(/^Total reclaimed space: \d+(\.\d+)?(B|kB)$/),
    ]);
    expect(table(await must("images", "-a")).some((row) => row[2] === untagged.imageId.slice(7, 19))).toBe(false);
    expect(table(await must("images")).some((row) => row[0] === "e2e/labelled")).toBe(true);
    expect(await must("image", "prune", "--force")).toBe("Total reclaimed space: 0B");
  });

  it("docker image prune -a", async () => {
    await load(untagged);
    const output = await must("image", "prune", "--all", "--force");
    const lines = output.split("\n");
    expect(lines[0]).toBe("Deleted Images:");
    expect(lines).toEqual(expect.arrayContaining(["untagged: e2e/labelled:1", `deleted: ${labelled.imageId}`, `deleted: ${untagged.imageId}`]));
    expect(lines.at(-1)).toMatch(/^Total reclaimed space: \d+(\.\d+)?(B|kB)$/);
    // busybox stays: containers use it.
    const left = table(await must("images", "-a")).slice(1);
    expect(left.map((row) => `${row[0]}:${row[1]}`)).toContain("busybox:latest");
    expect(left.some((row) => row[2] === labelled.imageId.slice(7, 19) || row[2] === untagged.imageId.slice(7, 19))).toBe(false);
    expect(await ownRecords()).toEqual([]);
  });
});
