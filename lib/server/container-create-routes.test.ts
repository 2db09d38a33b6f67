import type { H3 } from "h3";
import { beforeEach, describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import type { NerdctlNativeImage } from "../nerdctl/image-types.ts";
import { ROUTES_DIR } from "../package-info.ts";
import type { Command, RunResult } from "../runner/types.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { send, TEST_FACTS } from "../testing/replay-app.ts";
import { createDaemonApp } from "./app.ts";
import { loadRouteFiles } from "./route-files.ts";

const ID = "c".repeat(64);
const HOLDER = "d".repeat(64);
const CONFIG_DIGEST = `sha256:${"e".repeat(64)}`;

const BUSYBOX: NerdctlNativeImage = {
  Image: {
    Name: "docker.io/library/busybox:latest",
    Target: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"f".repeat(64)}`, size: 500 },
    CreatedAt: "2024-01-01T00:00:00Z",
    UpdatedAt: "2024-01-01T00:00:00Z",
  },
  ImageConfigDesc: { mediaType: "application/vnd.oci.image.config.v1+json", digest: CONFIG_DIGEST, size: 300 },
  ImageConfig: { architecture: "amd64", os: "linux", config: { Cmd: ["sh"] }, rootfs: { type: "layers", diff_ids: [] } },
  size: 2_000_000,
};

const ok = (stdout = ""): RunResult => ({ stdout, stderr: "", exitCode: 0 });
const fatal = (message: string): RunResult => ({ stdout: "", stderr: `time="2026-01-01T00:00:00Z" level=fatal msg=${JSON.stringify(message)}\n`, exitCode: 1 });

/** nerdctl as far as create needs it: one image, one network, volumes that come and go, and a create whose answer a test picks. */
class StubNerdctl {
  calls: string[][] = [];
  volumes = new Set(["existing"]);
  createResult: RunResult = ok(`${ID}\n`);

  run(command: Command): Promise<RunResult> {
    const args = [...command.args];
    this.calls.push(args);
    const verb = args.slice(0, 2).join(" ");
    if (verb === "image inspect") return Promise.resolve(ok(JSON.stringify([BUSYBOX])));
    if (verb === "network inspect") {
      const name = args.at(-1)!;
      return Promise.resolve(name === "mynet" ? ok(JSON.stringify([{ CNI: { name, plugins: [] }, NerdctlID: "1".repeat(64) }])) : fatal(`network "${name}" not found`));
    }
    if (verb === "volume ls") return Promise.resolve(ok([...this.volumes].join("\n")));
    if (verb === "volume rm") {
      for (const name of args.slice(3)) this.volumes.delete(name);
      return Promise.resolve(ok());
    }
    if (args[0] === "create") {
      // nerdctl makes the named volumes before it can fail.
      for (const word of args) {
        const volume = /^--volume=([a-z]\w+):/.exec(word)?.[1];
        if (volume) this.volumes.add(volume);
      }
      return Promise.resolve(this.createResult);
    }
    return Promise.resolve(fatal(`unexpected call: ${args.join(" ")}`));
  }

  spawn(): never {
    throw new Error("no streaming call expected");
  }

  interactive(): never {
    throw new Error("no interactive call expected");
  }

  get creates(): string[][] {
    return this.calls.filter((args) => args[0] === "create");
  }
}

let stub: StubNerdctl;
let app: H3;

beforeEach(async () => {
  stub = new StubNerdctl();
  app = createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services: { nerdctl: new Nerdctl(stub), facts: () => TEST_FACTS },
    daemonVersion: TEST_FACTS.version,
  });
});

async function create(body: unknown, query = ""): Promise<{ status: number; body: { Id?: string; Warnings?: string[]; message?: string } }> {
  const response = await send(app, `/v1.43/containers/create${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { Id?: string; Warnings?: string[]; message?: string } };
}

describe("POST /containers/create", () => {
  it("answers 201 with the id and the warnings, after one create that never pulls", async () => {
    const answer = await create({ Image: "busybox", Cmd: ["echo", "hi"], HostConfig: { CpuPercent: 10 } }, "?name=web");
    expect(answer).toEqual({ status: 201, body: { Id: ID, Warnings: ["linux does not support CPU percent. Percent discarded."] } });
    expect(schemaViolations("POST", "/containers/create", 201, answer.body)).toEqual([]);
    const [args] = stub.creates;
    expect(args).toEqual(expect.arrayContaining(["--pull=never", "--name=web"]));
    expect(args!.slice(args!.indexOf("--"))).toEqual(["--", "docker.io/library/busybox:latest", "echo", "hi"]);
  });

  it("looks a custom network up and passes it by name", async () => {
    expect((await create({ Image: "busybox", HostConfig: { NetworkMode: "mynet" } })).status).toBe(201);
    expect(stub.creates[0]).toContain("--network=mynet");
    expect(await create({ Image: "busybox", HostConfig: { NetworkMode: "nosuch" } })).toEqual({ status: 404, body: { message: "network nosuch not found" } });
  });

  it("answers dockerd's 404 for a missing image, without running create", async () => {
    expect(await create({ Image: "nosuch" })).toEqual({ status: 404, body: { message: "No such image: nosuch:latest" } });
    expect(await create({ Image: "example.com/team/app:1" })).toEqual({ status: 404, body: { message: "No such image: example.com/team/app:1" } });
    expect(stub.creates).toEqual([]);
  });

  it("answers dockerd's 404 for an image of another platform", async () => {
    expect(await create({ Image: "busybox" }, "?platform=linux/arm64")).toEqual({
      status: 404,
      body: { message: "image with reference busybox was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64" },
    });
  });

  it("answers dockerd's 409 for a taken name, and removes the volumes the failed create made", async () => {
    stub.createResult = fatal(`name-store error\nname "web" is already used by ID "${HOLDER}"`);
    const answer = await create({ Image: "busybox", HostConfig: { Binds: ["fresh:/data", "existing:/old"] } }, "?name=web");
    expect(answer).toEqual({
      status: 409,
      body: {
        message: `Conflict. The container name "/web" is already in use by container "${HOLDER}". You have to remove (or rename) that container to be able to reuse that name.`,
      },
    });
    expect([...stub.volumes]).toEqual(["existing"]);
  });

  it("answers 400 for bad input before anything runs", async () => {
    expect(await create({ Image: "busybox" }, "?name=-x")).toEqual({ status: 400, body: { message: "Invalid container name (-x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" } });
    expect(await create({ Image: "busybox", HostConfig: { DeviceCgroupRules: ["c 1:3 rwm"] } })).toEqual({
      status: 400,
      body: { message: "HostConfig.DeviceCgroupRules is not supported" },
    });
    expect(await create({ Image: "busybox", HostConfig: { CapAdd: ["-v/:/h"] } })).toMatchObject({ status: 400 });
    expect(stub.calls).toEqual([]);
  });
});
