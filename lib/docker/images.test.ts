import { describe, expect, it } from "vitest";
import { Filters } from "./filters.ts";
import { imageSummaries } from "./image-list.ts";
import { chainIds, noSuchImage, recordForNerdctl, recordReference, referencesOf, resolveImage, type DockerImage } from "./image-model.ts";
import { RemovalPlanner, type ImageUser } from "./image-removal.ts";
import { layerSizes, sharedSizes } from "./image-sizes.ts";
import { compileGlob } from "./path-match.ts";
import { familiarString, parseAnyReference, parseNormalizedNamed, tagReference } from "../reference.ts";

/*
 * The model below the routes, on images built here (the model's own type, not
 * nerdctl output: what nerdctl prints is covered over recorded fixtures in
 * lib/server/images-routes.test.ts).
 */

const hex = (seed: string) => seed.repeat(64).slice(0, 64);
const layer = (seed: string) => `sha256:${hex(seed)}`;

function image(id: string, names: string[], options: { layers?: string[]; size?: number; blobs?: number[]; created?: string; labels?: Record<string, string> } = {}): DockerImage {
  const diffIds = options.layers ?? [layer(id)];
  const created = options.created ?? "2024-01-01T00:00:00Z";
  return {
    id: `sha256:${hex(id)}`,
    records: names.map((name) => ({
      name,
      target: `sha256:${hex(`${id}f`)}`,
      createdAt: created,
      updatedAt: created,
      ref: recordReference(name),
    })),
    config: { created, history: diffIds.map(() => ({ created, created_by: "ADD" })), config: { Labels: options.labels } },
    size: options.size ?? 1000,
    created: Date.parse(created),
    createdText: created,
    diffIds,
    chainIds: chainIds(diffIds),
    blobSizes: options.blobs ?? diffIds.map(() => 100),
    labels: options.labels ?? {},
    parent: "",
  };
}

describe("references", () => {
  it.each([
    ["busybox", "docker.io/library/busybox", "busybox"],
    ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
    ["index.docker.io/library/busybox", "docker.io/library/busybox", "busybox"],
    ["someone/app:v1", "docker.io/someone/app:v1", "someone/app:v1"],
    ["registry.k8s.io/pause:3.8", "registry.k8s.io/pause:3.8", "registry.k8s.io/pause:3.8"],
    ["localhost/app", "localhost/app", "localhost/app"],
    ["localhost:5000/team/app", "localhost:5000/team/app", "localhost:5000/team/app"],
    ["UPPER/case", "UPPER/case", "UPPER/case"],
  ])("normalises %s as dockerd does", (value, full, familiar) => {
    const ref = parseNormalizedNamed(value);
    expect(`${ref.domain}/${ref.path}${ref.tag ? `:${ref.tag}` : ""}`).toBe(full);
    expect(familiarString(ref)).toBe(familiar);
  });

  it.each([
    ["", "repository name must have at least one component"],
    ["--help", "invalid reference format"],
    ["Busybox", "invalid reference format: repository name must be lowercase"],
    ["busybox:-x", "invalid reference format"],
    ["../x", "invalid reference format"],
    ["a\0b", "invalid reference format"],
    [hex("a"), `invalid repository name (${hex("a")}), cannot specify 64-byte hexadecimal strings`],
    [`busybox@sha256:${"a".repeat(32)}`, "invalid checksum digest length"],
    ["a".repeat(256), "repository name must not be more than 255 characters"],
  ])("refuses %j with dockerd's 400 message", (value, message) => {
    expect(() => parseNormalizedNamed(value)).toThrow(expect.objectContaining({ kind: "invalid-parameter", message }));
  });

  it("reads ids as digests and short ids as names, as ParseAnyReference does", () => {
    expect(parseAnyReference(hex("b"))).toEqual({ kind: "digest", digest: `sha256:${hex("b")}` });
    expect(parseAnyReference(`sha256:${hex("b")}`)).toEqual({ kind: "digest", digest: `sha256:${hex("b")}` });
    expect(parseAnyReference("bba8")).toMatchObject({ kind: "named", ref: { path: "library/bba8" } });
    expect(parseAnyReference("sha256:bba8")).toMatchObject({ kind: "named", ref: { path: "library/sha256", tag: "bba8" } });
  });

  it("words a miss as dockerd does", () => {
    expect(noSuchImage("nosuch").message).toBe("No such image: nosuch:latest");
    expect(noSuchImage("sha256:0000").message).toBe("No such image: sha256:0000");
    expect(noSuchImage(hex("0")).message).toBe(`No such image: sha256:${hex("0")}`);
  });

  it("builds a tag's reference from repo and tag", () => {
    expect(familiarString(tagReference("ok:1", "2"))).toBe("ok:2");
    expect(familiarString(tagReference("ok", ""))).toBe("ok:latest");
    expect(familiarString(tagReference("localhost:5000/x", "v1"))).toBe("localhost:5000/x:v1");
  });

  it("takes the engine's own records for what they are: not names", () => {
    for (const name of [`import@sha256:${hex("c")}`, ":", `sha256:${hex("d")}`, "not a name"]) expect(recordReference(name)).toBeUndefined();
    expect(recordReference("docker.io/library/busybox:latest")).toMatchObject({ path: "library/busybox", tag: "latest" });
  });
});

describe("the reference filter's globs (path.Match)", () => {
  it.each([
    ["busy*", "busybox:latest", true],
    ["busybox", "busybox", true],
    ["*", "someone/app", false],
    ["*/*", "someone/app", true],
    ["b?sybox*", "busybox:1", true],
    ["[a-c]usybox", "busybox", true],
    ["[^a-c]usybox", "busybox", false],
    ["busybox\\*", "busybox*", true],
    ["localhost:5000/*/*", "localhost:5000/team/app:v1", true],
    ["a.c", "abc", false],
  ])("%s against %s: %s", (pattern, value, matches) => {
    expect(compileGlob(pattern).test(value)).toBe(matches);
  });

  it.each(["[ab", "ab\\", "[]a]", "[-a]"])("refuses the malformed pattern %j with a 400", (pattern) => {
    expect(() => compileGlob(pattern)).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
  });

  it("matches nothing with a pattern too large for a RegExp, and any name with a long run of stars", () => {
    expect(compileGlob(`b${"x".repeat(65_536)}`).test("busybox")).toBe(false);
    expect(compileGlob("*".repeat(65_536)).test("busybox")).toBe(true);
    expect(compileGlob("*".repeat(65_536)).test("team/app")).toBe(false);
  });
});

describe("grouping and references", () => {
  it("gives each tag a digest reference of its own repository, and keeps the engine's records out", () => {
    const busybox = image("b", ["docker.io/library/busybox:latest", `import@sha256:${hex("9")}`, "docker.io/library/busybox@sha256:" + hex("e")]);
    expect(referencesOf(busybox.records).map((ref) => [ref.kind, ref.familiar, ref.derived])).toEqual([
      ["tag", "busybox:latest", false],
      ["digest", `busybox@sha256:${hex("bf")}`, true],
      ["digest", `busybox@sha256:${hex("e")}`, false],
    ]);
  });

  it("resolves names, ids, id prefixes and, beyond dockerd, nerdctl's ids", () => {
    const images = [image("a", ["docker.io/library/alpha:1"]), image("b", ["docker.io/library/beta:latest"])];
    expect(resolveImage(images, "beta")?.image.id).toBe(images[1]!.id);
    expect(resolveImage(images, "alpha")).toBeUndefined();
    expect(resolveImage(images, "aaaa")).toEqual({ image: images[0], byId: true });
    expect(resolveImage(images, `sha256:${hex("b")}`)).toEqual({ image: images[1], byId: true });
    expect(resolveImage(images, "bfbf")).toEqual({ image: images[1], byId: true });
    expect(() => resolveImage(images, "--help")).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
  });

  it("gives nerdctl the name the client used, not another name of the same image another request may be removing", () => {
    const busybox = image("b", ["docker.io/conc/tag:0", "docker.io/library/busybox:latest"]);
    expect(recordForNerdctl(busybox, { strict: true, named: "busybox" })).toBe("docker.io/library/busybox:latest");
    expect(recordForNerdctl(busybox, { strict: true, named: "conc/tag:0" })).toBe("docker.io/conc/tag:0");
    // By id, any name serves.
    expect(recordForNerdctl(busybox, { strict: true, named: "bbbb" })).toBe("docker.io/conc/tag:0");
  });
});

describe("sizes", () => {
  it("knows a base image's size inside a derived one, and spreads the rest by blob size", () => {
    const base = image("a", ["docker.io/library/base:1"], { layers: [layer("1")], size: 1000 });
    const derived = image("b", ["docker.io/library/derived:1"], { layers: [layer("1"), layer("2"), layer("3")], size: 4000, blobs: [1, 100, 200] });
    const sizes = layerSizes([base, derived]);
    expect(sizes.get(derived.id)).toEqual([1000, 1000, 2000]);
    expect(sharedSizes([base, derived])).toEqual(new Map([[base.id, 1000], [derived.id, 1000]]));
  });

  it("shows SharedSize only when asked, -1 otherwise", () => {
    const images = [image("a", ["docker.io/library/a:1"]), image("b", ["docker.io/library/b:1"], { layers: [layer("a")] })];
    const list = (sharedSize: boolean) => imageSummaries(images, { all: false, filters: Filters.none, sharedSize, apiVersion: "1.43" }).map((i) => i.SharedSize);
    expect(list(false)).toEqual([-1, -1]);
    expect(list(true)).toEqual([1000, 1000]);
  });
});

describe("removal, planned as dockerd decides", () => {
  const busybox = () => image("b", ["docker.io/library/busybox:latest", "docker.io/library/mytag:1", `import@sha256:${hex("9")}`]);
  const running: ImageUser = { id: hex("c1"), running: true, imageId: `sha256:${hex("b")}` };
  const stopped: ImageUser = { id: hex("c2"), running: false, imageId: `sha256:${hex("b")}` };

  it("untags one of several names even while a container runs the image", () => {
    const planner = new RemovalPlanner([busybox()], [running]);
    expect(planner.remove("busybox", { force: false })).toEqual([{ Untagged: "busybox:latest" }]);
    expect(planner.records).toEqual(["docker.io/library/busybox:latest"]);
  });

  it("with force, untags the last name of an image in use and keeps the image, untagged", () => {
    const planner = new RemovalPlanner([image("b", ["docker.io/library/busybox:latest"])], [running]);
    expect(planner.remove("busybox", { force: true })).toEqual([{ Untagged: "busybox:latest" }]);
    expect(planner.images.map((i) => i.id)).toEqual([`sha256:${hex("b")}`]);
  });

  it("removes an image a stopped container uses only with force, and then reports no layer as deleted", () => {
    const one = image("b", ["docker.io/library/busybox:latest"]);
    expect(() => new RemovalPlanner([one], [stopped]).remove("bbbb", { force: false })).toThrow(
      `conflict: unable to delete bbbbbbbbbbbb (must be forced) - image is being used by stopped container ${hex("c2").slice(0, 12)}`,
    );
    const planner = new RemovalPlanner([one], [stopped]);
    expect(planner.remove("bbbb", { force: true })).toEqual([{ Untagged: "busybox:latest" }, { Deleted: one.id }]);
  });

  it("keeps layers another image still uses", () => {
    const base = image("a", ["docker.io/library/base:1"], { layers: [layer("1")] });
    const derived = image("b", ["docker.io/library/derived:1"], { layers: [layer("1"), layer("2")], size: 3000 });
    const planner = new RemovalPlanner([base, derived], []);
    expect(planner.remove("derived:1", { force: false })).toEqual([
      { Untagged: "derived:1" },
      { Deleted: derived.id },
      { Deleted: derived.chainIds[1] },
    ]);
    expect(planner.reclaimed).toBe(2000);
  });

  it("removes a digest-named record with its tag's repository", () => {
    const pulled = image("b", ["docker.io/library/busybox:latest", `docker.io/library/busybox@sha256:${hex("e")}`]);
    const planner = new RemovalPlanner([pulled], []);
    expect(planner.remove("busybox:latest", { force: false })).toEqual([
      { Untagged: "busybox:latest" },
      { Untagged: `busybox@sha256:${hex("e")}` },
      { Deleted: pulled.id },
      { Deleted: pulled.chainIds[0] },
    ]);
  });

  it("prunes everything unused with dangling=false, untagging all but one name of an image in use, as dockerd 24 does", () => {
    const unused = image("a", ["docker.io/library/unused:1"]);
    const planner = new RemovalPlanner([busybox(), unused], [running]);
    const report = planner.prune(Filters.parse('{"dangling":["false"]}', ["dangling"]));
    expect(report.ImagesDeleted).toEqual([{ Untagged: "busybox:latest" }, { Untagged: "unused:1" }, { Deleted: unused.id }, { Deleted: unused.chainIds[0] }]);
    expect(report.SpaceReclaimed).toBe(1000);
  });

  it("prunes by label and until", () => {
    const old = image("a", [`import@sha256:${hex("8")}`], { created: "2020-01-01T00:00:00Z", labels: { keep: "no" } });
    const kept = image("b", [`import@sha256:${hex("7")}`], { created: "2020-01-01T00:00:00Z", labels: { keep: "yes" } });
    const recent = image("c", [`import@sha256:${hex("6")}`], { created: "2025-01-01T00:00:00Z", labels: { keep: "no" } });
    const filters = Filters.parse('{"until":["2024-01-01T00:00:00Z"],"label!":["keep=yes"]}', ["until", "label!"]);
    const report = new RemovalPlanner([old, kept, recent], []).prune(filters);
    expect(report.ImagesDeleted.filter((item) => "Deleted" in item && item.Deleted.startsWith("sha256:"))[0]).toEqual({ Deleted: old.id });
    expect(JSON.stringify(report)).not.toContain(kept.id);
    expect(JSON.stringify(report)).not.toContain(recent.id);
  });
});
