import { describe, expect, it } from "vitest";
import { buildArgv, prunedRecords, pruneArgv } from "../nerdctl/build.ts";
import {
  BuildFailure,
  buildPruneReport,
  buildSucceededMessages,
  exportedConfig,
  parseBuildPruneQuery,
  parseBuildQuery,
} from "./build.ts";
import { dockerConfigForRegistries } from "./registry-auth.ts";

const query = (text: string) => new URLSearchParams(text);
const ID = `sha256:${"ab".repeat(32)}`;

describe("parseBuildQuery", () => {
  it("reads what the docker CLI sends (docker build -t -t --build-arg --label --target -f --no-cache --pull --add-host --network)", () => {
    const request = parseBuildQuery(
      query(
        "buildargs=%7B%22X%22%3A%221%22%2C%22Y%22%3Anull%7D&cachefrom=%5B%22busybox%22%5D&cgroupparent=&cpuperiod=0&dockerfile=sub%2FDockerfile&extrahosts=h%3A1.2.3.4&labels=%7B%22l%22%3A%22v%22%7D&memory=0&networkmode=host&nocache=1&pull=1&rm=1&shmsize=67108864&t=a%3Ab&t=c&t=a%3Ab&target=base&ulimits=null&version=1",
      ),
    );
    expect(request).toEqual({
      dockerfile: "sub/Dockerfile",
      tags: [
        { domain: "docker.io", path: "library/a", tag: "b" },
        { domain: "docker.io", path: "library/c", tag: "latest" },
      ],
      buildArgs: [["X", "1"]],
      labels: [["l", "v"]],
      target: "base",
      noCache: true,
      pull: true,
      network: "host",
      extraHosts: ["h:1.2.3.4"],
      quiet: false,
    });
    expect(buildArgv(request, "/ctx/sub/Dockerfile", "/ctx")).toEqual([
      "build",
      "--progress=plain",
      "--file=/ctx/sub/Dockerfile",
      "--tag=docker.io/library/a:b",
      "--tag=docker.io/library/c:latest",
      "--build-arg=X=1",
      "--label=l=v",
      "--target=base",
      "--network=host",
      "--add-host=h:1.2.3.4",
      "--no-cache",
      "--pull",
      "--",
      "/ctx",
    ]);
  });

  it("keeps user values inside --flag=value words: a value that looks like a flag stays a value", () => {
    const request = parseBuildQuery(query(`buildargs=${encodeURIComponent('{"A":"--privileged x"}')}&labels=${encodeURIComponent('{"k":"-v/:/h"}')}`));
    expect(buildArgv(request, "/c/Dockerfile", "/c")).toEqual(["build", "--progress=plain", "--file=/c/Dockerfile", "--build-arg=A=--privileged x", "--label=k=-v/:/h", "--", "/c"]);
  });

  it.each([
    ["t=--privileged", /invalid reference format/],
    ["t=Upper/Case", /must be lowercase/],
    [`t=busybox@sha256:${"0".repeat(64)}`, /build tag cannot contain a digest/],
    ["target=--output=type=local,dest=/", /invalid target stage name/],
    ["target=a b", /invalid target stage name/],
    [`buildargs=${encodeURIComponent('{"--secret=id=x,src=/etc/shadow":"1"}')}`, /invalid build arg name/],
    [`buildargs=${encodeURIComponent('{"A=B":"1"}')}`, /invalid build arg name/],
    [`buildargs=${encodeURIComponent('{"A":1}')}`, /error reading build args: the value of "A" is not a string/],
    ["buildargs=notjson", /error reading build args/],
    [`labels=${encodeURIComponent('{"--label":"x"}')}`, /invalid label key/],
    [`labels=${encodeURIComponent('{"a=b":"x"}')}`, /invalid label key/],
    ["labels=[1]", /error reading labels: expected a JSON object/],
    ["platform=linux/amd64,linux/arm64", /invalid platform/],
    ["platform=--output=type=local", /invalid platform/],
    ["networkmode=container:abc", /network mode "container:abc" is not supported/],
    ["extrahosts=--privileged", /invalid extra host/],
    ["extrahosts=h:1.2.3.4 --x", /invalid extra host/],
    ["shmsize=-1", /invalid shmsize/],
    ["cachefrom=%5B%22--x%22%5D", /invalid reference format/],
    ["dockerfile=a%00b", /NUL/],
  ])("refuses %s with a 400", (text, message) => {
    expect(() => parseBuildQuery(query(text))).toThrow(message);
    try {
      parseBuildQuery(query(text));
    } catch (error) {
      expect((error as { kind: string }).kind).toBe("invalid-parameter");
    }
  });

  it("answers 501 for what the builder cannot do: BuildKit sessions, remote contexts", () => {
    expect(() => parseBuildQuery(query("version=2"))).toThrow(expect.objectContaining({ kind: "not-implemented" }));
    expect(() => parseBuildQuery(query("remote=https://example.com/ctx.tar"))).toThrow(expect.objectContaining({ kind: "not-implemented" }));
  });

  it("takes quiet, none and bridge network modes, and defaults", () => {
    expect(parseBuildQuery(query("q=1&networkmode=none"))).toMatchObject({ quiet: true, network: "none", dockerfile: "Dockerfile", tags: [] });
    expect(parseBuildQuery(query("networkmode=bridge")).network).toBeUndefined();
  });
});

describe("build output", () => {
  it("finds the image id BuildKit exported", () => {
    expect(exportedConfig(`#8 exporting config ${ID} 0.0s done`)).toBe(ID);
    expect(exportedConfig(`#8 exporting manifest ${ID} 0.0s done`)).toBeUndefined();
  });

  it("ends like the classic builder: aux ID, Successfully built, Successfully tagged (familiar names)", () => {
    expect(
      buildSucceededMessages(ID, [{ domain: "docker.io", path: "library/app", tag: "v1" }, { domain: "127.0.0.1:5000", path: "x/y", tag: "latest" }], false),
    ).toEqual([
      { aux: { ID } },
      { stream: "Successfully built abababababab\n" },
      { stream: "Successfully tagged app:v1\n" },
      { stream: "Successfully tagged 127.0.0.1:5000/x/y:latest\n" },
    ]);
    expect(buildSucceededMessages(ID, [], true)).toEqual([{ stream: `${ID}\n` }]);
  });

  it("explains a failure with buildctl's error and the step's exit code (the docker CLI exits with it)", () => {
    const failure = new BuildFailure();
    failure.line('#5 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3');
    failure.line('error: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3');
    failure.line('time="2026-01-01T00:00:00Z" level=fatal msg="no image was built"');
    const text = 'failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3';
    expect(failure.message(1)).toEqual({ errorDetail: { code: 3, message: text }, error: text });
    const nerdctlOnly = new BuildFailure();
    nerdctlOnly.line('time="2026-01-01T00:00:00Z" level=fatal msg="lstat /x: no such file or directory"');
    expect(nerdctlOnly.message(1)).toEqual({ errorDetail: { message: "lstat /x: no such file or directory" }, error: "lstat /x: no such file or directory" });
  });

  it("turns X-Registry-Config into a docker config.json, none when it holds no credentials", () => {
    const header = Buffer.from(JSON.stringify({ "127.0.0.1:5000": { username: "u", password: "p" }, "docker.io": { auth: "abc" }, empty: {} })).toString("base64");
    expect(JSON.parse(dockerConfigForRegistries(header)!)).toEqual({
      auths: { "127.0.0.1:5000": { auth: Buffer.from("u:p").toString("base64") }, "https://index.docker.io/v1/": { auth: "abc" } },
    });
    expect(dockerConfigForRegistries("e30=")).toBeUndefined();
    expect(dockerConfigForRegistries(null)).toBeUndefined();
    expect(dockerConfigForRegistries("%%%")).toBeUndefined();
  });
});

describe("build prune", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it("translates dockerd's parameters into buildctl prune's", () => {
    const filters = encodeURIComponent(
      JSON.stringify({ until: { "24h": true }, id: ["abc123"], parent: ["def"], type: ["regular"], description: ["pulled from x, y"], shared: ["true"] }),
    );
    const request = parseBuildPruneQuery(query(`all=1&keep-storage=10485760&filters=${filters}`), now);
    expect(request).toEqual({
      all: true,
      keepStorage: 10485760,
      keepDurationMs: 86_400_000,
      filter: 'id~=abc123,parents~=def,type==regular,description=="pulled from x, y",shared',
    });
    expect(pruneArgv(request)).toEqual([
      "prune",
      "--format={{json .}}",
      "--all",
      "--keep-storage=10.48576",
      "--keep-duration=86400000ms",
      '--filter=id~=abc123,parents~=def,type==regular,description=="pulled from x, y",shared',
    ]);
    expect(pruneArgv(parseBuildPruneQuery(query(""), now))).toEqual(["prune", "--format={{json .}}"]);
  });

  it("reads until as a time too, private as not shared, and inuse=false as no condition", () => {
    const filters = encodeURIComponent(JSON.stringify({ until: ["2025-12-31T23:00:00Z"], private: [], inuse: ["false"] }));
    expect(parseBuildPruneQuery(query(`filters=${filters}`), now)).toEqual({ all: false, keepDurationMs: 3_600_000, filter: "private" });
  });

  it.each([
    ["filters=%7B%22foo%22%3A%5B%22x%22%5D%7D", /invalid filter 'foo'/],
    ["filters=%7B%22until%22%3A%5B%22bogus%22%5D%7D", /"until" filter expects a duration/],
    ["filters=%7B%22until%22%3A%5B%221h%22%2C%222h%22%5D%7D", /filters expect only one value/],
    ["filters=%7B%22id%22%3A%5B%22.*%22%5D%7D", /invalid filter 'id=\.\*'/],
    ["filters=%7B%22shared%22%3A%5B%5D%2C%22private%22%3A%5B%5D%7D", /conflicting filters/],
    ["keep-storage=abc", /keep-storage is in bytes and expects an integer, got abc/],
  ])("refuses %s with a 400", (text, message) => {
    expect(() => parseBuildPruneQuery(query(text), now)).toThrow(message);
  });

  it("reports what buildctl removed as dockerd does (null when nothing)", () => {
    const stdout = [
      '{"id":"91y8looe5nn2fgdp4rpbb5eap","mutable":true,"inUse":false,"size":4096,"description":"local source for context","recordType":"","shared":false}',
      '{"id":"pnpbkcjrdwsb7onkrjsx35amb","mutable":true,"inUse":false,"size":8192,"parents":null,"shared":false}',
      "",
    ].join("\n");
    expect(buildPruneReport(prunedRecords(stdout))).toEqual({ CachesDeleted: ["91y8looe5nn2fgdp4rpbb5eap", "pnpbkcjrdwsb7onkrjsx35amb"], SpaceReclaimed: 12288 });
    expect(buildPruneReport(prunedRecords(""))).toEqual({ CachesDeleted: null, SpaceReclaimed: 0 });
  });
});
