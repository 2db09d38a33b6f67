import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StartedTestContainer } from "testcontainers";

/**
 * testcontainers-node as a client of nerdctld: what its users do every day,
 * through its own API. The library reads DOCKER_HOST when it first needs a
 * client, so it is imported only after the variable points at nerdctld.
 */
const dockerHost = inject("dockerHost");
const version = (createRequire(import.meta.url)("testcontainers/package.json") as { version: string }).version;

describe(`matrix testcontainers-${version.split(".")[0]} default`, () => {
  let tc: typeof import("testcontainers");
  let container: StartedTestContainer;
  const saved = { DOCKER_HOST: process.env.DOCKER_HOST, TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED };

  beforeAll(async () => {
    process.env.DOCKER_HOST = dockerHost;
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    tc = await import("testcontainers");
  });

  afterAll(async () => {
    await container?.stop().catch(() => undefined);
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("GenericContainer with a log message wait strategy, env and labels", async () => {
    container = await new tc.GenericContainer("busybox:latest")
      .withCommand(["sh", "-c", 'echo "starting as $ROLE"; sleep 1; echo ready; exec sleep 3600'])
      .withEnvironment({ ROLE: "tester" })
      .withLabels({ "e2e.client": "testcontainers" })
      .withWaitStrategy(tc.Wait.forLogMessage("ready"))
      .withStartupTimeout(30_000)
      .start();
    expect(container.getId()).toMatch(/^[0-9a-f]{64}$/);
    expect(container.getLabels()).toMatchObject({ "e2e.client": "testcontainers" });
  });

  it("exec: output and exit code", async () => {
    const result = await container.exec(["sh", "-c", 'echo "$ROLE"; echo oops >&2; exit 3']);
    expect(result).toMatchObject({ stdout: "tester\n", stderr: "oops\n", exitCode: 3 });
    // Both streams, in the order they reached the client: two pipes keep no order between them.
    expect(result.output.split("\n").sort()).toEqual(["", "oops", "tester"]);
    expect(await container.exec(["pwd"], { workingDir: "/tmp", user: "nobody" })).toMatchObject({ stdout: "/tmp\n", exitCode: 0 });
  });

  it("copyContentToContainer, then copyArchiveFromContainer", async () => {
    await container.copyContentToContainer([{ content: "hello from the test\n", target: "/data/greeting.txt", mode: 0o640 }]);
    expect(await container.exec(["stat", "-c", "%a %s", "/data/greeting.txt"])).toMatchObject({ stdout: "640 20\n", exitCode: 0 });
    const archive = await container.copyArchiveFromContainer("/data/greeting.txt");
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(Buffer.from(chunk as Uint8Array));
    const tar = Buffer.concat(chunks);
    expect(tar.subarray(0, 100).toString().replace(/\0+$/, "")).toBe("greeting.txt");
    expect(tar.subarray(512, 512 + 20).toString()).toBe("hello from the test\n");
  });

  it("logs: the container's output so far, as a stream", async () => {
    const stream = await container.logs();
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "ready" line in the logs: ${JSON.stringify(lines)}`)), 10_000);
      stream.on("data", (line: string) => {
        lines.push(line);
        if (lines.join("").includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    stream.destroy();
    expect(lines.join("")).toBe("starting as tester\nready\n");
  });

  it("restart, and the log wait strategy again", async () => {
    await container.restart({ timeout: 2_000 });
    expect(await container.exec(["echo", "back"])).toMatchObject({ stdout: "back\n", exitCode: 0 });
  });

  it("stop removes the container", async () => {
    const id = container.getId();
    await container.stop({ timeout: 2_000 });
    const client = await tc.getContainerRuntimeClient();
    const listed = await client.container.list();
    expect(listed.map((entry) => entry.Id)).not.toContain(id);
  });

  it("a one-shot container: Wait.forOneShotStartup", async () => {
    const oneShot = await new tc.GenericContainer("busybox:latest")
      .withCommand(["sh", "-c", "echo done"])
      .withWaitStrategy(tc.Wait.forOneShotStartup())
      .withStartupTimeout(30_000)
      .start();
    const logs: string[] = [];
    for await (const line of await oneShot.logs()) logs.push(String(line));
    expect(logs.join("")).toBe("done\n");
    await oneShot.stop();
  });

  it("a health check: Wait.forHealthCheck", async () => {
    const healthy = await new tc.GenericContainer("busybox:latest")
      .withCommand(["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 3600"])
      .withHealthCheck({ test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1_000, timeout: 1_000, retries: 10, startPeriod: 0 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .withStartupTimeout(60_000)
      .start();
    const client = await tc.getContainerRuntimeClient();
    const inspected = await client.container.inspect(client.container.getById(healthy.getId()));
    expect(inspected.State.Health?.Status).toBe("healthy");
    await healthy.stop();
  });
});
