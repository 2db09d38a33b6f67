import { request } from "node:http";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { schemaViolations } from "../lib/testing/api-schema.ts";
import { DOCKER_CLIS, docker } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";

const dockerHost = inject("dockerHost");
const socketPath = dockerHost.replace(/^unix:\/\//, "");

/** What the engine itself says, to compare the daemon's answers with. */
async function nerdctl(...args: string[]): Promise<string> {
  const result = await engineNerdctl(args);
  if (result.exitCode !== 0) throw new Error(`nerdctl ${args.join(" ")} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(method: string, path: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

let engine: { containerd: string; containers: number; running: number; images: number };
beforeAll(async () => {
  const version = JSON.parse(await nerdctl("version", "--format", "{{json .}}")) as {
    Server: { Components: { Name: string; Version: string }[] };
  };
  const ids = (await nerdctl("ps", "--all", "--quiet")).split("\n").filter(Boolean);
  const running = (await nerdctl("ps", "--quiet")).split("\n").filter(Boolean);
  const images = new Set((await nerdctl("images", "--all", "--quiet", "--no-trunc")).split("\n").filter(Boolean));
  engine = {
    containerd: version.Server.Components.find((part) => part.Name === "containerd")!.Version,
    containers: ids.length,
    running: running.length,
    images: images.size,
  };
});

it("has both docker CLIs of the matrix, or at least the current one", () => {
  expect(DOCKER_CLIS.map((cli) => cli.name)).toContain("docker-28");
});

describe.each(DOCKER_CLIS)("$name", ({ path: cli }) => {
  it("docker version shows the daemon's API version and the engine's containerd", async () => {
    const result = await docker(cli, dockerHost, ["version"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const server = result.stdout.slice(result.stdout.indexOf("Server:"));
    expect(server).toMatch(/API version:\s+1\.43 \(minimum version 1\.24\)/);
    expect(server).toMatch(new RegExp(`containerd:\\s+Version:\\s+${engine.containerd.replace(/\./g, "\\.")}`));
  });

  it("docker version --format json names the real containerd", async () => {
    const result = await docker(cli, dockerHost, ["version", "--format", "{{json .Server}}"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const server = JSON.parse(result.stdout) as { ApiVersion: string; Components: { Name: string; Version: string }[] };
    expect(server.ApiVersion).toBe("1.43");
    expect(server.Components.find((part) => part.Name === "containerd")?.Version).toBe(engine.containerd);
  });

  it("docker info shows the engine's real container and image counts", async () => {
    const result = await docker(cli, dockerHost, ["info"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Containers: ${engine.containers}\\n\\s+Running: ${engine.running}\\n`));
    expect(result.stdout).toMatch(new RegExp(`Images: ${engine.images}\\n`));
    expect(result.stdout).toMatch(/Storage Driver: overlayfs/);
  });

  it("docker system info --format '{{json .}}' gives Docker's document", async () => {
    const result = await docker(cli, dockerHost, ["system", "info", "--format", "{{json .}}"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const info = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(info).toMatchObject({
      Containers: engine.containers,
      ContainersRunning: engine.running,
      Images: engine.images,
      OSType: "linux",
      ServerVersion: expect.any(String),
    });
    expect(info.ServerErrors ?? []).toEqual([]);
  });
});

describe("raw API", () => {
  it("GET /_ping answers OK with Docker's headers", async () => {
    const response = await raw("GET", "/_ping");
    expect([response.status, response.body]).toEqual([200, "OK"]);
    expect(response.headers).toMatchObject({
      "api-version": "1.43",
      ostype: "linux",
      "docker-experimental": "false",
      "builder-version": "2",
      "cache-control": "no-cache, no-store, must-revalidate",
      pragma: "no-cache",
    });
  });

  it("HEAD /_ping answers the same headers without a body", async () => {
    const response = await raw("HEAD", "/v1.41/_ping");
    expect([response.status, response.body]).toEqual([200, ""]);
    expect(response.headers["api-version"]).toBe("1.43");
  });

  it.each([
    ["/v1.44/version", "client version 1.44 is too new. Maximum supported API version is 1.43"],
    ["/v1.23/version", "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"],
  ])("GET %s is refused with dockerd's 400", async (path, message) => {
    const response = await raw("GET", path);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ message });
  });

  it("an operation not implemented yet is a Docker-style 501 naming it", async () => {
    const response = await raw("POST", "/v1.43/plugins/pull?remote=x");
    expect(response.status).toBe(501);
    expect(JSON.parse(response.body)).toEqual({
      message: "POST /plugins/pull is not implemented by nerdctld (Docker API operation POST /plugins/pull)",
    });
  });

  it.each([
    ["/version", "/version"],
    ["/v1.41/info", "/info"],
  ])("GET %s conforms to the API spec", async (path, template) => {
    const response = await raw("GET", path);
    expect(response.status).toBe(200);
    expect(schemaViolations("GET", template, 200, JSON.parse(response.body))).toEqual([]);
  });
});
