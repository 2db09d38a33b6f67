import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import type { ContainerInspect, ContainerSummary } from "../docker/container-types.ts";
import type { DiskUsage } from "../docker/system-df.ts";
import type { ImageDeleteItem, ImageHistoryItem, ImageInspect, ImagePruneReport, ImageSummary } from "../docker/image-types.ts";
import type { ReplayRunner } from "../runner/replay.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { replayApp, send } from "../testing/replay-app.ts";

/*
 * Over recorded nerdctl output (scripts/scenarios/images.ts). The engine had
 * busybox:latest (also tagged localhost:5000/team/app:v1) used by containers
 * web (running), done (exited) and fresh (created); e2e/labelled:1 (two
 * layers, labels, created 2024-02-01); and an image loaded without a name
 * (created 2023-06-01). Each `nerdctl load` also left an `import@sha256:…`
 * record, which Docker clients never see as a name.
 */
const BUSYBOX = "sha256:bba85999f9ac33032c820c47c3effe5efb866154a304469dde5837ec76985ce0";
const BUSYBOX_MANIFEST = "sha256:a22432b839e8442bf4ea3e1680b910a0085746811f7ccb29b35c4cebdae37b48";
const LABELLED = "sha256:8251e72d05bc46d2186517ee812d376380fbadca23713e9c2421a8e55fd3d92d";
const LABELLED_MANIFEST = "sha256:2f4976faff70d2b581f55c5609a341cef4e51015396c256b8015b79b05a4e898";
const UNTAGGED = "sha256:937509ae8dbae9519cab87206918557b5d6d23eb3c87f3288f96101e8a6089e4";
const LIST_CALL = ["image", "inspect", "--mode", "native", "--", ..."0123456789abcdef".split("").map((digit) => `sha256:${digit}`)];

/** Hostile or malformed names (as sent in a path): each must be a 400 before nerdctl runs. */
const BAD_NAMES = ["--help", "-v", "..%2Fx", "a%00b", "a".repeat(4096), "UPPER", "a%20b", "-v%2F%3A%2Fh"];
const shown = (value: string) => (value.length > 40 ? `${value.slice(0, 10)}… (${value.length} characters)` : value);
const BAD_NAME_CASES = BAD_NAMES.map((name) => [shown(name), name] as const);

let app: H3;
let runner: ReplayRunner;
beforeAll(async () => {
  ({ app, runner } = await replayApp("images"));
});

async function json<T>(response: Response, status = 200): Promise<T> {
  expect(response.status, await response.clone().text()).toBe(status);
  return (await response.json()) as T;
}

async function list(query = "", version = "v1.43"): Promise<ImageSummary[]> {
  const body = await json<ImageSummary[]>(await send(app, `/${version}/images/json${query}`));
  expect(schemaViolations("GET", "/images/json", 200, body)).toEqual([]);
  return body;
}

const filtersQuery = (filters: object) => `?filters=${encodeURIComponent(JSON.stringify(filters))}`;
const ids = (images: ImageSummary[]) => images.map((image) => image.Id);

/** Runs a request and says how many engine calls it made. */
async function calls(fn: () => Promise<unknown>, on: ReplayRunner = runner): Promise<number> {
  const before = on.calls.length;
  await fn();
  return on.calls.length - before;
}

describe("GET /images/json", () => {
  it("lists one entry per image, newest first, every tag and digest under it", async () => {
    const images = await list();
    expect(ids(images)).toEqual([LABELLED, BUSYBOX, UNTAGGED]);
    const busybox = images[1]!;
    expect(busybox).toEqual({
      Containers: -1,
      Created: Date.parse("2024-01-01T00:00:00Z") / 1000,
      Id: BUSYBOX,
      Labels: {},
      ParentId: "",
      RepoDigests: [`busybox@${BUSYBOX_MANIFEST}`, `localhost:5000/team/app@${BUSYBOX_MANIFEST}`],
      RepoTags: ["busybox:latest", "localhost:5000/team/app:v1"],
      SharedSize: -1,
      Size: 2015232,
      VirtualSize: 2015232,
    });
    expect(images[0]).toMatchObject({
      RepoTags: ["e2e/labelled:1"],
      RepoDigests: [`e2e/labelled@${LABELLED_MANIFEST}`],
      Labels: { "org.example.kind": "test", "org.example.tier": "a" },
      Created: Date.parse("2024-02-01T00:00:00Z") / 1000,
    });
  });

  it("shows an image loaded without a name as untagged: no import@ record, empty lists on 1.43", async () => {
    const untagged = (await list()).find((image) => image.Id === UNTAGGED)!;
    expect(untagged).toMatchObject({ RepoTags: [], RepoDigests: [], Size: 8192 });
    expect(JSON.stringify(await list())).not.toContain("import@");
  });

  it("shows untagged images as <none>:<none> to clients before API 1.43, as dockerd 24 does", async () => {
    const untagged = (await list("", "v1.41")).find((image) => image.Id === UNTAGGED)!;
    expect(untagged).toMatchObject({ RepoTags: ["<none>:<none>"], RepoDigests: ["<none>@<none>"] });
  });

  it("makes one engine call however many images there are", async () => {
    expect(await calls(() => list("?all=1&digests=1&shared-size=1"))).toBe(1);
    expect(runner.calls.at(-1)).toMatchObject({ program: "nerdctl", args: LIST_CALL });
  });

  it("computes SharedSize only when asked (API 1.42 and later)", async () => {
    for (const image of await list("?shared-size=1")) expect(image.SharedSize).toBe(0);
    for (const image of await list("?shared-size=1", "v1.41")) expect(image.SharedSize).toBe(-1);
  });

  it.each([
    [{ dangling: ["true"] }, [UNTAGGED]],
    [{ dangling: { true: true } }, [UNTAGGED]],
    [{ dangling: ["false"] }, [LABELLED, BUSYBOX]],
    [{ label: ["org.example.kind"] }, [LABELLED]],
    [{ label: ["org.example.kind=test", "org.example.tier=b"] }, []],
    [{ before: ["e2e/labelled:1"] }, [BUSYBOX, UNTAGGED]],
    [{ since: ["busybox"] }, [LABELLED]],
    [{ since: [UNTAGGED.slice(7, 19)], before: ["e2e/labelled:1"] }, [BUSYBOX]],
    [{ reference: ["busy*"] }, [BUSYBOX]],
    [{ reference: ["e2e/*"] }, [LABELLED]],
    [{ reference: ["nomatch*"] }, []],
  ])("filters %j", async (filters, expected) => {
    expect(ids(await list(filtersQuery(filters)))).toEqual(expected);
  });

  it("keeps only the references a reference filter matches", async () => {
    const [busybox] = await list(filtersQuery({ reference: ["localhost:5000/*/*"] }));
    expect(busybox).toMatchObject({ RepoTags: ["localhost:5000/team/app:v1"], RepoDigests: [`localhost:5000/team/app@${BUSYBOX_MANIFEST}`] });
  });

  it("reads the pre-1.41 `filter` parameter as a reference filter, and ignores it later", async () => {
    expect(ids(await list("?filter=busy*", "v1.40"))).toEqual([BUSYBOX]);
    expect(ids(await list("?filter=busy*", "v1.41"))).toHaveLength(3);
  });

  it("answers a before/since naming no image with dockerd's 404", async () => {
    const response = await send(app, `/images/json${filtersQuery({ before: ["nosuch"] })}`);
    expect(await json(response, 404)).toEqual({ message: "No such image: nosuch:latest" });
  });

  it.each([
    [{ until: ["1h"] }, "invalid filter 'until'"],
    [{ bogus: ["x"] }, "invalid filter 'bogus'"],
    [{ dangling: ["maybe"] }, "invalid filter 'dangling=[maybe]'"],
    [{ reference: ["[ab"] }, "invalid filter 'reference=[ab': syntax error in pattern"],
    [{ before: ["--help"] }, "invalid reference format"],
    [{ since: ["a\0b"] }, "invalid reference format"],
  ])("refuses %j with a 400 before nerdctl runs", async (filters, message) => {
    const made = await calls(async () => {
      expect(await json(await send(app, `/images/json${filtersQuery(filters)}`), 400)).toEqual({ message });
    });
    expect(made).toBe(0);
  });

  it("refuses filters that are not JSON with a 400", async () => {
    expect(await calls(async () => expect((await send(app, "/images/json?filters=notjson")).status).toBe(400))).toBe(0);
  });

  it("serves the namespace a request names", async () => {
    const { app: k8s } = await replayApp("images-k8s");
    const response = await send(k8s, "/images/json", { headers: { "X-Containerd-Namespace": "k8s.io" } });
    const images = await json<ImageSummary[]>(response);
    expect(images.map((image) => [image.Id, image.RepoTags])).toEqual([[BUSYBOX, ["busybox:latest"]]]);
  });
});

describe("GET /images/{name}/json", () => {
  async function inspect(name: string): Promise<ImageInspect> {
    const body = await json<ImageInspect>(await send(app, `/v1.43/images/${name}/json`));
    expect(schemaViolations("GET", "/images/{name}/json", 200, body)).toEqual([]);
    return body;
  }

  it("gives Docker's inspect document", async () => {
    const busybox = await inspect("busybox");
    expect(busybox).toMatchObject({
      Id: BUSYBOX,
      RepoTags: ["busybox:latest", "localhost:5000/team/app:v1"],
      RepoDigests: [`busybox@${BUSYBOX_MANIFEST}`, `localhost:5000/team/app@${BUSYBOX_MANIFEST}`],
      Parent: "",
      Comment: "",
      Created: "2024-01-01T00:00:00Z",
      Container: "",
      DockerVersion: "",
      Author: "",
      Architecture: "amd64",
      Os: "linux",
      Size: 2015232,
      VirtualSize: 2015232,
      GraphDriver: { Name: "overlayfs", Data: {} },
      RootFS: { Type: "layers", Layers: [expect.stringMatching(/^sha256:[0-9a-f]{64}$/)] },
      Metadata: { LastTagTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
    expect(busybox.Config).toMatchObject({
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["sh"],
      WorkingDir: "",
      User: "",
      Image: "",
      OnBuild: null,
    });
    expect(busybox.Config.Entrypoint).toBeUndefined();
  });

  it("carries the image's labels in its config", async () => {
    const labelled = await inspect("e2e/labelled:1");
    expect(labelled.Config.Labels).toEqual({ "org.example.kind": "test", "org.example.tier": "a" });
    expect(labelled.RootFS.Layers).toHaveLength(2);
  });

  it.each([
    ["busybox:latest"],
    ["docker.io/library/busybox"],
    ["docker.io/library/busybox:latest"],
    ["localhost:5000/team/app:v1"],
    [`busybox@${BUSYBOX_MANIFEST}`],
    ["bba85999f9ac"],
    ["bba8"],
    ["sha256:bba85999f9ac"],
    [BUSYBOX],
    [BUSYBOX.slice(7)],
    // nerdctl's image id (the manifest digest) works too.
    [BUSYBOX_MANIFEST],
    ["a22432b839e8"],
  ])("finds busybox by %s", async (name) => {
    expect((await inspect(name)).Id).toBe(BUSYBOX);
  });

  it("finds an untagged image by id", async () => {
    expect(await inspect(UNTAGGED.slice(7, 19))).toMatchObject({ Id: UNTAGGED, RepoTags: [], RepoDigests: [] });
  });

  it.each([
    ["nosuch", "No such image: nosuch:latest"],
    ["nosuch:1", "No such image: nosuch:1"],
    ["abcd", "No such image: abcd:latest"],
    ["e2e/labelled:2", "No such image: e2e/labelled:2"],
    [`sha256:${"0".repeat(64)}`, `No such image: sha256:${"0".repeat(64)}`],
    [`busybox@${BUSYBOX}`, `No such image: busybox@${BUSYBOX}`],
  ])("answers %s with dockerd's 404", async (name, message) => {
    const response = await send(app, `/images/${name}/json`);
    expect(await json(response, 404)).toEqual({ message });
  });

  it.each(BAD_NAME_CASES)("refuses %s with a 400 before nerdctl runs", async (_shown, name) => {
    const made = await calls(async () => {
      const response = await send(app, `/images/${name}/json`);
      expect(response.status).toBe(400);
    });
    expect(made).toBe(0);
  });

  it("makes one engine call", async () => {
    expect(await calls(() => inspect("e2e/labelled:1"))).toBe(1);
  });
});

describe("GET /images/{name}/history", () => {
  async function history(name: string): Promise<ImageHistoryItem[]> {
    const body = await json<ImageHistoryItem[]>(await send(app, `/v1.43/images/${name}/history`));
    expect(schemaViolations("GET", "/images/{name}/history", 200, body)).toEqual([]);
    return body;
  }

  it("lists the entries newest first: the image's id and tags on top, <missing> below", async () => {
    const created = Date.parse("2024-02-01T00:00:00Z") / 1000;
    expect(await history("e2e/labelled:1")).toEqual([
      { Id: LABELLED, Created: created, CreatedBy: "LABEL org.example.kind=test org.example.tier=a", Tags: ["e2e/labelled:1"], Size: 0, Comment: "" },
      { Id: "<missing>", Created: created, CreatedBy: "ADD layer2.txt /", Tags: [], Size: 20480, Comment: "" },
      { Id: "<missing>", Created: created, CreatedBy: "ADD layer1.txt /", Tags: [], Size: 12288, Comment: "" },
    ]);
  });

  it("asks nerdctl for the layer sizes of a record of the image", async () => {
    expect(await calls(() => history("busybox"))).toBe(2);
    expect(runner.calls.at(-1)?.args).toEqual([
      "image", "history", "--no-trunc", "--human=false", "--format", "{{json .}}", "--", "docker.io/library/busybox:latest",
    ]);
    // By id: the image's tagged record stands for it.
    expect(await history(BUSYBOX)).toEqual([
      expect.objectContaining({ Id: BUSYBOX, Tags: ["busybox:latest", "localhost:5000/team/app:v1"], Size: 2015232 }),
    ]);
    expect(runner.calls.at(-1)?.args.at(-1)).toBe("docker.io/library/busybox:latest");
  });

  it("gives an untagged image's history through nerdctl's import record", async () => {
    expect(await history(UNTAGGED)).toEqual([expect.objectContaining({ Id: UNTAGGED, Tags: [], Size: 8192, CreatedBy: "ADD layer1.txt /" })]);
  });

  it("answers a missing image with dockerd's 404, and a bad name with a 400 before nerdctl runs", async () => {
    expect(await json(await send(app, "/images/nosuch/history"), 404)).toEqual({ message: "No such image: nosuch:latest" });
    for (const name of BAD_NAMES) {
      expect(await calls(async () => expect((await send(app, `/images/${name}/history`)).status).toBe(400))).toBe(0);
    }
  });
});

describe("POST /images/{name}/tag", () => {
  it("tags from the image's own record and answers 201", async () => {
    const { app: tagging, runner: tagRunner } = await replayApp("images-tag");
    const response = await send(tagging, "/v1.43/images/busybox/tag?repo=newtag&tag=1", { method: "POST" });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe("");
    expect(tagRunner.calls.map((call) => call.args)).toEqual([LIST_CALL, ["tag", "--", "docker.io/library/busybox:latest", "docker.io/library/newtag:1"]]);
    expect(tagRunner.misses).toEqual([]);
  });

  it("tags an image named by id, with `latest` when no tag is given", async () => {
    const { app: tagging, runner: tagRunner } = await replayApp("images-tag-by-id");
    const response = await send(tagging, "/images/bba85999f9ac/tag?repo=localhost:5000/byid", { method: "POST" });
    expect(response.status).toBe(201);
    expect(tagRunner.calls.at(-1)?.args).toEqual(["tag", "--", "docker.io/library/busybox:latest", "localhost:5000/byid:latest"]);
  });

  it("says so when nerdctl cannot tag an image that has no name of its own", async () => {
    const { app: tagging, runner: tagRunner } = await replayApp("images-tag-untagged");
    const response = await send(tagging, `/images/${UNTAGGED.slice(7, 19)}/tag?repo=named&tag=1`, { method: "POST" });
    expect(await json(response, 500)).toEqual({
      message: "cannot tag 937509ae8dba: nerdctl can tag an image only through a name it has, and this one has none",
    });
    expect(tagRunner.calls.map((call) => call.args)).toEqual([LIST_CALL]);
  });

  it("answers a missing image with dockerd's 404", async () => {
    const { app: tagging } = await replayApp("images-tag");
    const response = await send(tagging, "/images/nosuch/tag?repo=x", { method: "POST" });
    expect(await json(response, 404)).toEqual({ message: "No such image: nosuch:latest" });
  });

  it.each([
    ["repo=UPPER&tag=1", "invalid reference format: repository name must be lowercase"],
    ["repo=ok&tag=bad:tag", "invalid tag format"],
    ["repo=ok&tag=-x", "invalid tag format"],
    ["repo=ok&tag=.hidden", "invalid tag format"],
    ["repo=ok&tag=" + "x".repeat(129), "invalid tag format"],
    [`repo=ok@sha256:${"a".repeat(64)}`, "refusing to create a tag with a digest reference"],
    ["repo=sha256", "refusing to create an ambiguous tag using digest algorithm as name"],
    [`repo=${"0".repeat(64)}`, `invalid repository name (${"0".repeat(64)}), cannot specify 64-byte hexadecimal strings`],
    ["repo=--help", "invalid reference format"],
    ["repo=-v", "invalid reference format"],
    ["repo=..%2Fx", "invalid reference format"],
    ["repo=a%00b", "invalid reference format"],
    [`repo=${"a".repeat(4096)}`, "repository name must not be more than 255 characters"],
    ["repo=", "repository name must have at least one component"],
    ["tag=1", "repository name must have at least one component"],
  ].map(([query, message]) => [shown(query!), query!, message!]))("refuses %s with dockerd's 400 before nerdctl runs", async (_shown, query, message) => {
    const made = await calls(async () => {
      const response = await send(app, `/images/busybox/tag?${query}`, { method: "POST" });
      expect(await json(response, 400)).toEqual({ message });
    });
    expect(made).toBe(0);
  });

  it.each(BAD_NAME_CASES)("refuses to tag %s with a 400 before nerdctl runs", async (_shown, name) => {
    const made = await calls(async () => expect((await send(app, `/images/${name}/tag?repo=ok`, { method: "POST" })).status).toBe(400));
    expect(made).toBe(0);
  });
});

describe("DELETE /images/{name}", () => {
  async function remove(scenario: string, path: string, status = 200) {
    const replay = await replayApp(scenario);
    const response = await send(replay.app, path, { method: "DELETE" });
    const body = await json<ImageDeleteItem[] | { message: string }>(response, status);
    if (status === 200) expect(schemaViolations("DELETE", "/images/{name}", 200, body)).toEqual([]);
    expect(replay.runner.misses).toEqual([]);
    return { body, removed: replay.runner.calls.filter((call) => call.args[0] === "rmi").map((call) => [...call.args]) };
  }

  it("only untags a name when the image has others", async () => {
    const { body, removed } = await remove("images-rmi-untag", "/v1.43/images/mytag:1");
    expect(body).toEqual([{ Untagged: "mytag:1" }]);
    expect(removed).toEqual([["rmi", "--force", "--", "docker.io/library/mytag:1"]]);
  });

  it("removes the whole image with its last name: nerdctl's import record, then dockerd's Deleted lines", async () => {
    const { body, removed } = await remove("images-rmi-last-tag", "/images/e2e/labelled:1");
    expect(body).toEqual([
      { Untagged: "e2e/labelled:1" },
      { Deleted: LABELLED },
      { Deleted: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
      { Deleted: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
    ]);
    expect(removed).toEqual([["rmi", "--force", "--", "docker.io/e2e/labelled:1", expect.stringMatching(/^import@sha256:/)]]);
  });

  it("refuses to remove an image by id that has two names unless forced, then removes everything", async () => {
    const id = LABELLED.slice(7, 19);
    const refused = await remove("images-rmi-force", `/images/${id}`, 409);
    expect(refused.body).toEqual({ message: `conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories` });
    expect(refused.removed).toEqual([]);
    const forced = await remove("images-rmi-force", `/images/${id}?force=1`);
    expect(forced.body).toEqual([
      { Untagged: "e2e/labelled:1" },
      { Untagged: "e2e/labelled:2" },
      { Deleted: LABELLED },
      { Deleted: expect.any(String) },
      { Deleted: expect.any(String) },
    ]);
    expect(forced.removed).toEqual([["rmi", "--force", "--", "docker.io/e2e/labelled:1", "docker.io/e2e/labelled:2", expect.stringMatching(/^import@/)]]);
  });

  it("refuses, as dockerd does, to untag the only name of an image containers use", async () => {
    const { body, removed } = await remove("images-rmi-conflict", "/images/busybox", 409);
    expect(body).toEqual({
      message: expect.stringMatching(
        /^conflict: unable to remove repository reference "busybox" \(must force\) - container [0-9a-f]{12} is using its referenced image bba85999f9ac$/,
      ),
    });
    expect(removed).toEqual([]);
  });

  it("refuses to remove an image a running container uses, even forced", async () => {
    const { body } = await remove("images-rmi-conflict", "/images/bba85999f9ac?force=true", 409);
    expect(body).toEqual({
      message: expect.stringMatching(/^conflict: unable to delete bba85999f9ac \(cannot be forced\) - image is being used by running container [0-9a-f]{12}$/),
    });
  });

  it("answers a missing image with dockerd's 404", async () => {
    const { body } = await remove("images-rmi-conflict", "/images/nosuch", 404);
    expect(body).toEqual({ message: "No such image: nosuch:latest" });
  });

  it.each(BAD_NAME_CASES)("refuses %s with a 400 before nerdctl runs", async (_shown, name) => {
    const made = await calls(async () => expect((await send(app, `/images/${name}?force=1`, { method: "DELETE" })).status).toBe(400));
    expect(made).toBe(0);
  });
});

describe("POST /images/prune", () => {
  async function prune(scenario: string, query = ""): Promise<{ report: ImagePruneReport; removed: string[][] }> {
    const replay = await replayApp(scenario);
    const report = await json<ImagePruneReport>(await send(replay.app, `/v1.43/images/prune${query}`, { method: "POST" }));
    expect(schemaViolations("POST", "/images/prune", 200, report)).toEqual([]);
    expect(replay.runner.misses).toEqual([]);
    return { report, removed: replay.runner.calls.filter((call) => call.args[0] === "rmi").map((call) => [...call.args]) };
  }

  it("removes untagged images only, by default", async () => {
    const { report, removed } = await prune("images-prune");
    expect(report).toEqual({ ImagesDeleted: [{ Deleted: UNTAGGED }, { Deleted: expect.stringMatching(/^sha256:/) }], SpaceReclaimed: 8192 });
    expect(removed).toEqual([["rmi", "--force", "--", expect.stringMatching(/^import@/), expect.stringMatching(/^import@/)]]);
  });

  it("removes every image no container uses with dangling=false; busybox stays", async () => {
    const { report } = await prune("images-prune-all", filtersQuery({ dangling: { false: true } }));
    expect(report.ImagesDeleted).toEqual([
      { Deleted: UNTAGGED },
      { Deleted: expect.any(String) },
      { Untagged: "e2e/labelled:1" },
      { Deleted: LABELLED },
      { Deleted: expect.any(String) },
      { Deleted: expect.any(String) },
    ]);
    expect(report.SpaceReclaimed).toBe(8192 + 32768);
  });

  it.each([
    [{ bogus: ["1"] }, "invalid filter 'bogus'"],
    [{ dangling: ["maybe"] }, "invalid filter 'dangling=[maybe]'"],
    [{ until: ["xyz"] }, 'failed to parse value as time or duration: "xyz"'],
    [{ until: ["1h", "2h"] }, "more than one until filter specified"],
    [{ reference: ["x"] }, "invalid filter 'reference'"],
  ])("refuses %j with a 400 before nerdctl runs", async (filters, message) => {
    const made = await calls(async () => {
      expect(await json(await send(app, `/images/prune${filtersQuery(filters)}`, { method: "POST" }), 400)).toEqual({ message });
    });
    expect(made).toBe(0);
  });
});

describe("an image nerdctl crashes on", () => {
  /*
   * e2e/undated:1 has no date in its config nor in its history (both optional in the OCI image
   * spec); nerdctl 2.3.5's Docker-compatible `image inspect` and its `image history` panic on it
   * (fixtures/images-undated). Container `undated` is made from it; nine others use busybox.
   */
  const UNDATED = "sha256:4b94c9a647f697348be3152fc6a133e53691ffc2fcad0da66a0231a64670725a";
  const UNDATED_CONTAINER = "03722fd7e68bde5f80d5d8729994260890ba801b2bccba5a52f3fab14cbb6636";
  let undated: { app: H3; runner: ReplayRunner };
  beforeAll(async () => {
    undated = await replayApp("images-undated");
  });

  const get = async <T>(path: string): Promise<T> => json<T>(await send(undated.app, path));

  it("lists every container, the one made from it with its image's id", async () => {
    const containers = await get<ContainerSummary[]>("/v1.43/containers/json?all=1");
    expect(schemaViolations("GET", "/containers/json", 200, containers)).toEqual([]);
    expect(containers).toHaveLength(10);
    expect(containers.find((container) => container.Id === UNDATED_CONTAINER)).toMatchObject({ Image: "e2e/undated:1", ImageID: UNDATED });
    expect(containers.filter((container) => container.ImageID === BUSYBOX)).toHaveLength(9);
    expect(undated.runner.misses).toEqual([]);
  });

  it("inspects the container made from it", async () => {
    expect(await get<ContainerInspect>("/v1.43/containers/undated/json")).toMatchObject({ Id: UNDATED_CONTAINER, Image: UNDATED });
  });

  it("lists and inspects the image, dated as dockerd dates an image without a date", async () => {
    const images = await get<ImageSummary[]>("/v1.43/images/json");
    expect(images.find((image) => image.Id === UNDATED)).toMatchObject({ RepoTags: ["e2e/undated:1"], Created: 0 });
    const inspected = await get<ImageInspect>("/v1.43/images/e2e/undated:1/json");
    expect(schemaViolations("GET", "/images/{name}/json", 200, inspected)).toEqual([]);
    expect(inspected).toMatchObject({ Id: UNDATED, Created: "0001-01-01T00:00:00Z", RepoTags: ["e2e/undated:1"] });
  });

  it("gives its history from the image's config, layer sizes estimated", async () => {
    const history = await get<ImageHistoryItem[]>("/v1.43/images/e2e/undated:1/history");
    expect(schemaViolations("GET", "/images/{name}/history", 200, history)).toEqual([]);
    expect(history).toEqual([{ Id: UNDATED, Created: 0, CreatedBy: "ADD layer1.txt /", Tags: ["e2e/undated:1"], Size: 8192, Comment: "" }]);
  });

  it("counts the container and the image in the disk usage", async () => {
    const usage = await get<DiskUsage>("/v1.43/system/df");
    expect(usage.Containers?.find((container) => container.Id === UNDATED_CONTAINER)).toMatchObject({ ImageID: UNDATED });
    expect(usage.Images?.find((image) => image.Id === UNDATED)).toMatchObject({ Containers: 1 });
  });
});
