import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { StartedTestContainer } from "testcontainers";
import { docker } from "./support/docker-cli.ts";
import { engineNerdctl, publishedPortAddress } from "./support/engine-client.ts";
import { writeProgramImage } from "./support/images.ts";

/**
 * testcontainers-node as a client of nerdctld: what its users do every day,
 * through its own API. The library reads DOCKER_HOST when it first needs a
 * client, so it is imported only after the variable points at nerdctld.
 */
const dockerHost = inject("dockerHost");
const ENGINE_HOME = process.env.NERDCTLD_ENGINE_HOME || "/opt/nerdctld-engine";
/** Where scripts/install-compose.sh puts the compose plugin. */
const COMPOSE_PLUGINS = join(ENGINE_HOME, "cli-plugins-compose");
/** The reaper scripts/install-reaper.sh builds: Ryuk's protocol, run under Ryuk's image name. */
const REAPER = join(ENGINE_HOME, "testcontainers-reaper", "reaper");
/** The Ryuk image (name and tag) this Testcontainers starts. */
const RYUK_IMAGE = (createRequire(import.meta.url)("testcontainers/build/reaper/reaper.js") as { REAPER_IMAGE: string }).REAPER_IMAGE;
/** A test process with Ryuk on: a network, a container on it labelled by its argument, their names printed, then it waits to be killed. */
const RYUK_CHILD = `
const { GenericContainer, Network } = require("testcontainers");
(async () => {
  const network = await new Network().start();
  const container = await new GenericContainer("busybox:latest").withNetwork(network).withCommand(["sleep", "3600"]).withLabels({ "e2e.ryuk": process.argv[1] }).start();
  console.log(JSON.stringify({ id: container.getId(), network: network.getName() }));
  setInterval(() => undefined, 60_000);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;
/** busybox's httpd serving `text` at /index.html on 8080, once `delay` seconds have passed. */
const httpd = (text: string, delay = 0) => ["sh", "-c", `sleep ${delay}; mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www`];

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  expect(response.status).toBe(200);
  return response.text();
}

const version = (createRequire(import.meta.url)("testcontainers/package.json") as { version: string }).version;

describe(`matrix testcontainers-${version.split(".")[0]} default`, () => {
  let tc: typeof import("testcontainers");
  let container: StartedTestContainer;
  const saved = Object.fromEntries(
    ["DOCKER_HOST", "TESTCONTAINERS_RYUK_DISABLED", "TESTCONTAINERS_HOST_OVERRIDE", "DOCKER_CONFIG"].map((name) => [name, process.env[name]]),
  );
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "nerdctld-tc-"));
    process.env.DOCKER_HOST = dockerHost;
    process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    // Where the engine's published ports are (the engine container's address under that provider).
    process.env.TESTCONTAINERS_HOST_OVERRIDE = await publishedPortAddress();
    // `docker compose` (DockerComposeEnvironment) finds the plugin scripts/install-compose.sh built.
    await writeFile(join(work, "config.json"), JSON.stringify({ cliPluginsExtraDirs: [COMPOSE_PLUGINS] }));
    process.env.DOCKER_CONFIG = work;
    tc = await import("testcontainers");
  });

  afterAll(async () => {
    await container?.stop().catch(() => undefined);
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(work, { recursive: true, force: true });
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

  it("Wait.forListeningPorts on busybox httpd: getHost and getMappedPort reach it", async () => {
    // httpd listens only after 2 s: start() returning earlier would make the request below fail.
    const web = await new tc.GenericContainer("busybox:latest")
      .withCommand(httpd("listening", 2))
      .withExposedPorts(8080)
      .withWaitStrategy(tc.Wait.forListeningPorts())
      .withStartupTimeout(30_000)
      .start();
    try {
      expect(web.getMappedPort(8080)).toBeGreaterThan(0);
      expect(await fetchText(`http://${web.getHost()}:${web.getMappedPort(8080)}/index.html`)).toBe("listening\n");
    } finally {
      await web.stop();
    }
  });

  it("Wait.forHttp: status code and body", async () => {
    const web = await new tc.GenericContainer("busybox:latest")
      .withCommand(httpd("http-ready", 2))
      .withExposedPorts(8080)
      .withWaitStrategy(tc.Wait.forHttp("/index.html", 8080).forStatusCode(200).forResponsePredicate((body) => body.trim() === "http-ready"))
      .withStartupTimeout(30_000)
      .start();
    try {
      expect(await fetchText(`http://${web.getHost()}:${web.getMappedPort(8080)}/index.html`)).toBe("http-ready\n");
    } finally {
      await web.stop();
    }
  });

  it("Network.newNetwork: containers reach each other by name on it", async () => {
    const network = await new tc.Network().start();
    const serverName = `tc-server-${network.getName().slice(0, 8)}`;
    const started: StartedTestContainer[] = [];
    try {
      started.push(await new tc.GenericContainer("busybox:latest").withNetwork(network).withName(serverName).withCommand(httpd("from-server")).start());
      const client = await new tc.GenericContainer("busybox:latest").withNetwork(network).withCommand(["sleep", "3600"]).start();
      started.push(client);
      const fetched = await client.exec(["timeout", "5", "wget", "-q", "-O", "-", `http://${serverName}:8080/index.html`]);
      expect(fetched).toMatchObject({ stdout: "from-server\n", exitCode: 0 });
    } finally {
      for (const container of started) await container.stop();
      await network.stop();
    }
  });

  it("Network.newNetwork with withHostname: the other container reaches that name", async () => {
    const network = await new tc.Network().start();
    const started: StartedTestContainer[] = [];
    try {
      started.push(await new tc.GenericContainer("busybox:latest").withNetwork(network).withHostname("server").withCommand(httpd("from-hostname")).start());
      const client = await new tc.GenericContainer("busybox:latest").withNetwork(network).withCommand(["sleep", "3600"]).start();
      started.push(client);
      const fetched = await client.exec(["timeout", "5", "wget", "-q", "-O", "-", "http://server:8080/index.html"]);
      expect(fetched).toMatchObject({ stdout: "from-hostname\n", exitCode: 0 });
    } finally {
      for (const container of started) await container.stop();
      await network.stop();
    }
  });

  it("withNetworkAliases: refused with the reason (Testcontainers connects the created container to the network)", async () => {
    const network = await new tc.Network().start();
    const label = { "e2e.aliases": network.getName() };
    try {
      const start = new tc.GenericContainer("busybox:latest").withNetwork(network).withNetworkAliases("server").withLabels(label).withCommand(["sleep", "3600"]).start();
      await expect(start).rejects.toThrow(`POST /networks/${network.getName()}/connect is not supported: nerdctl 2.3 cannot attach`);
    } finally {
      // Testcontainers leaves the container it created behind (Ryuk would reap it).
      const left = await engineNerdctl(["ps", "--all", "--quiet", "--filter", `label=e2e.aliases=${network.getName()}`]);
      const ids = left.stdout.split("\n").filter(Boolean);
      if (ids.length > 0) await engineNerdctl(["rm", "--force", "--", ...ids]);
      await network.stop();
    }
  });

  it("withReuse: a second start with the same definition gets the same running container", async () => {
    const definition = () =>
      new tc.GenericContainer("busybox:latest").withCommand(["sleep", "3600"]).withLabels({ "e2e.reuse": work }).withReuse();
    const first = await definition().start();
    try {
      const second = await definition().start();
      expect(second.getId()).toBe(first.getId());
      const listed = await engineNerdctl(["ps", "--all", "--quiet", "--no-trunc", "--filter", `label=e2e.reuse=${work}`]);
      expect(listed.stdout.trim().split("\n")).toEqual([first.getId()]);
    } finally {
      await first.stop();
    }
  });

  it("GenericContainer.fromDockerfile(dir).build(), then a container of the image", async () => {
    const context = join(work, "dockerfile-context");
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), "FROM busybox:latest\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\nCMD [\"sleep\", \"3600\"]\n");
    const image = await tc.GenericContainer.fromDockerfile(context).withBuildArgs({ GREETING: "built-by-testcontainers" }).build();
    const container = await image.start();
    try {
      expect(await container.exec(["cat", "/greeting"])).toMatchObject({ stdout: "built-by-testcontainers\n", exitCode: 0 });
    } finally {
      await container.stop();
    }
  });

  it("DockerComposeEnvironment: up, a service's mapped port, down", async () => {
    const project = join(work, "compose-project");
    await mkdir(project);
    await writeFile(
      join(project, "docker-compose.yml"),
      [
        "services:",
        "  web:",
        "    image: busybox:latest",
        "    pull_policy: never",
        `    command: ${JSON.stringify(httpd("from-compose"))}`,
        "    ports:",
        '      - "8080"',
        "",
      ].join("\n"),
    );
    const environment = await new tc.DockerComposeEnvironment(project, "docker-compose.yml")
      .withWaitStrategy("web-1", tc.Wait.forHttp("/index.html", 8080))
      .withStartupTimeout(60_000)
      .up();
    const web = environment.getContainer("web-1");
    expect(await fetchText(`http://${web.getHost()}:${web.getMappedPort(8080)}/index.html`)).toBe("from-compose\n");
    const id = web.getId();
    await environment.down();
    const left = await engineNerdctl(["ps", "--all", "--quiet", "--no-trunc"]);
    expect(left.stdout.split("\n")).not.toContain(id);
  });

  it(`Ryuk on (${RYUK_IMAGE}): what a test process killed with SIGKILL made (a container, a network) is reaped`, async () => {
    const archive = join(work, "ryuk.tar");
    // Labelled as Ryuk's image is: Testcontainers finds running reapers by it, and a reaper spares what has it.
    await writeProgramImage(archive, REAPER, RYUK_IMAGE, { "org.testcontainers.ryuk": "true" });
    expect(await docker("/usr/local/bin/docker", dockerHost, ["load", "--input", archive])).toMatchObject({ exitCode: 0 });
    const engine = inject("engine");
    const label = `ryuk-${Date.now()}`;
    const env: Record<string, string | undefined> = {
      ...process.env,
      TESTCONTAINERS_RYUK_DISABLED: undefined,
      // The socket Ryuk's container mounts, as the engine sees it.
      TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE: engine.kind === "container" ? engine.daemonSocket : new URL(dockerHost).pathname,
      TESTCONTAINERS_RYUK_RECONNECTION_TIMEOUT: "2s",
    };
    const child = execa(process.execPath, ["--eval", RYUK_CHILD, label], { env, extendEnv: false, reject: false, cwd: process.cwd() });
    const made = await new Promise<{ id: string; network: string }>((resolve, reject) => {
      child.stdout!.on("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as { id: string; network: string }));
      void child.then((result) => reject(new Error(`the test process ended first: ${String(result.stderr)}`)));
    });
    const labelled = async () => (await engineNerdctl(["ps", "--all", "--quiet", "--no-trunc", "--filter", `label=e2e.ryuk=${label}`])).stdout.split("\n").filter(Boolean);
    const reapers = async () => (await engineNerdctl(["ps", "--quiet", "--filter", "label=org.testcontainers.ryuk=true"])).stdout.split("\n").filter(Boolean);
    const networks = async () => (await engineNerdctl(["network", "ls", "--format", "{{.Name}}"])).stdout.split("\n").filter((name) => name === made.network);
    expect(await labelled()).toEqual([made.id]);
    expect(await reapers()).toHaveLength(1);
    expect(await networks()).toEqual([made.network]);
    child.kill("SIGKILL");
    await child;
    // Ryuk waits 2 s for its client to come back, removes what the session made, and exits (removed: AutoRemove).
    const deadline = Date.now() + 30_000;
    const left = async () => ({ containers: await labelled(), networks: await networks(), reapers: await reapers() });
    while (Object.values(await left()).some((list) => list.length > 0)) {
      if (Date.now() > deadline) throw new Error(`not reaped within 30 s: ${JSON.stringify(await left())}`);
      await sleep(500);
    }
  });
});
