/**
 * docker compose v2 (the CLI plugin scripts/install-compose.sh builds), run
 * by the docker CLI 28 against nerdctld in both namespaces, on an app of
 * two services: `web`, built from a Dockerfile (busybox httpd serving what
 * its env_file says), and `client`, which starts once web is healthy and asks
 * web for its greeting by service name, every second. They share a named
 * volume and a network of their own; web publishes its port. Builds use the
 * classic builder (DOCKER_BUILDKIT=0). Each step is a test, in order: up,
 * ps, logs, exec, run, stop/start, down, after which nothing of the project
 * is left on the engine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { docker, type CliResult } from "./support/docker-cli.ts";
import { engineNerdctl, publishedPortAddress } from "./support/engine-client.ts";
import { MATRIX_PREFIX, NAMESPACES } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";

const dockerHost = inject("dockerHost");

/** The docker CLI compose runs under as a plugin. */
const DOCKER = "/usr/local/bin/docker";
/** Where scripts/install-compose.sh puts the plugin. */
const COMPOSE_PLUGINS = join(process.env.NERDCTLD_ENGINE_HOME || "/opt/nerdctld-engine", "cli-plugins-compose");
const GREETING = "hello-from-env-file";

const COMPOSE_FILE = `
services:
  web:
    build: ./web
    env_file: web.env
    ports:
      - "8080"
    volumes:
      - shared:/www/shared
    networks:
      - backend
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/greeting.txt"]
      interval: 1s
      timeout: 2s
      retries: 30
  client:
    image: busybox:latest
    pull_policy: never
    depends_on:
      web:
        condition: service_healthy
    volumes:
      - shared:/shared
    networks:
      - backend
    restart: on-failure
    command:
      - sh
      - -c
      - |
        trap 'exit 0' TERM
        echo from-client > /shared/client.txt
        while true; do
          echo "client got: $$(timeout 2 wget -q -O - http://web:8080/greeting.txt)"
          sleep 1 & wait $$!
        done
volumes:
  shared:
networks:
  backend:
`;

const DOCKERFILE = `FROM busybox:latest
RUN mkdir -p /www/shared && echo '<h1>compose on nerdctld</h1>' > /www/index.html
COPY start.sh /start.sh
EXPOSE 8080
CMD ["sh", "/start.sh"]
`;

/** web's process: writes what its env_file says where httpd serves it, and ends at once on SIGTERM. */
const START_SCRIPT = `echo "$GREETING" > /www/greeting.txt
echo "web: serving $GREETING"
httpd -f -v -p 8080 -h /www &
trap 'kill $!; exit 0' TERM
wait
`;

/** A service on two networks: compose connects it to the second after creating it. */
const TWO_NETWORKS_FILE = `
services:
  both:
    image: busybox:latest
    pull_policy: never
    command: ["sleep", "3600"]
    networks: [front, back]
networks:
  front:
  back:
`;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-compose-"));
  await mkdir(join(work, "web"));
  await writeFile(join(work, "compose.yaml"), COMPOSE_FILE);
  await writeFile(join(work, "two-networks.yaml"), TWO_NETWORKS_FILE);
  await writeFile(join(work, "web.env"), `# read by compose, given to web's environment\nGREETING=${GREETING}\n`);
  await writeFile(join(work, "web", "Dockerfile"), DOCKERFILE);
  await writeFile(join(work, "web", "start.sh"), START_SCRIPT);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * A docker CLI config that finds the compose plugin and sends the namespace
 * header (what matrix.ts's configDir sends), as a user would set it up.
 */
function configDir(namespace: string): string {
  const dir = join("/tmp", `nerdctld-e2e-compose-config-${namespace}`);
  mkdirSync(dir, { recursive: true });
  const headers = namespace === "default" ? {} : { "X-Containerd-Namespace": namespace };
  writeFileSync(join(dir, "config.json"), JSON.stringify({ HttpHeaders: headers, cliPluginsExtraDirs: [COMPOSE_PLUGINS] }));
  return dir;
}

/** Polls `read` until `done` holds for what it returns; gives the last value either way. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(250);
  }
}

/** An HTTP GET's body, or the error's text (a port not answering yet). */
function httpGet(url: string): Promise<string> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (response) => (response.ok ? response.text() : `HTTP ${response.status}`),
    (error: unknown) => `error: ${String(error)}`,
  );
}

interface ComposePs {
  Name: string;
  Service: string;
  State: string;
  Health: string;
  Publishers: { TargetPort: number; PublishedPort: number; Protocol: string }[] | null;
}

describe.each(NAMESPACES.map((namespace) => ({ namespace, title: `${MATRIX_PREFIX} compose-2 ${namespace}` })))("$title", ({ namespace }) => {
  /** Projects of this cell's own, so that the cells never meet. */
  const project = `e2e-compose-${namespace.replace(/\W/g, "")}`;
  const twoNetworks = `${project}-nets`;
  const env = () => ({ DOCKER_CONFIG: configDir(namespace), DOCKER_BUILDKIT: "0" });
  const composeIn = (name: string, file: string, args: string[], timeoutMs?: number): Promise<CliResult> =>
    docker(DOCKER, dockerHost, ["compose", "--project-name", name, "--file", join(work, file), ...args], undefined, env(), timeoutMs);
  const compose = (...args: string[]) => composeIn(project, "compose.yaml", args);
  const nerdctl = (...args: string[]) => engineNerdctl(args, { namespace });
  const must = async (...args: string[]) => {
    const result = await compose(...args);
    expect(result.exitCode, `docker compose ${args.join(" ")}: ${result.stderr}`).toBe(0);
    return result;
  };
  const ps = async (): Promise<ComposePs[]> =>
    (await must("ps", "--all", "--format", "json")).stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as ComposePs);
  /** The project's containers as the engine has them: name → status. */
  const engineContainers = async (name = project): Promise<Map<string, string>> => {
    const result = await nerdctl("ps", "--all", "--filter", `label=com.docker.compose.project=${name}`, "--format", "{{.Names}}\t{{.Status}}");
    expect(result.exitCode, result.stderr).toBe(0);
    return new Map(result.stdout.split("\n").filter(Boolean).map((line) => line.split("\t") as [string, string]));
  };
  const engineNames = async (kind: "network" | "volume"): Promise<string[]> => {
    const result = await nerdctl(kind, "ls", "--format", "{{.Name}}");
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout.split("\n").filter(Boolean);
  };
  /** web's published port, as compose reports it, where this process reaches it. */
  const webUrl = async (path: string): Promise<string> => {
    const port = /:(\d+)$/.exec((await must("port", "web", "8080")).stdout.trim())?.[1];
    expect(port, "docker compose port web 8080").toBeDefined();
    return `http://${await publishedPortAddress()}:${port}${path}`;
  };

  beforeAll(async () => {
    await seedNamespace(namespace);
    const version = await docker(DOCKER, dockerHost, ["compose", "version"], undefined, env());
    expect(version.stdout, `the compose plugin (scripts/install-compose.sh) in ${COMPOSE_PLUGINS}: ${version.stderr}`).toMatch(/^Docker Compose version v2\./);
  });

  afterAll(async () => {
    // Whatever a failed step left behind; nothing when down ran.
    await composeIn(project, "compose.yaml", ["down", "--volumes", "--timeout", "1"]);
    await composeIn(twoNetworks, "two-networks.yaml", ["down", "--timeout", "1"]);
    await nerdctl("rmi", `${project}-web`);
  });

  it("docker compose up -d --wait", async () => {
    const up = await compose("up", "--detach", "--wait");
    expect(up.exitCode, up.stderr).toBe(0);
    // Built with the classic builder, FROM the engine's busybox; then both containers, web healthy first.
    expect(up.stdout).toMatch(/^Successfully built [0-9a-f]{12}$/m);
    expect(up.stderr).toMatch(new RegExp(`Container ${project}-web-1\\s+Healthy`));
    expect(up.stderr).not.toMatch(/Error/);
    expect(await engineContainers()).toEqual(
      new Map([
        [`${project}-web-1`, expect.stringMatching(/^Up/)],
        [`${project}-client-1`, expect.stringMatching(/^Up/)],
      ]),
    );
    expect(await engineNames("network")).toContain(`${project}_backend`);
    expect(await engineNames("volume")).toContain(`${project}_shared`);
    // The env_file reached web; client wrote into the volume web serves.
    expect(await eventually(async () => httpGet(await webUrl("/greeting.txt")), (body) => body === `${GREETING}\n`)).toBe(`${GREETING}\n`);
    expect(await eventually(async () => httpGet(await webUrl("/shared/client.txt")), (body) => body === "from-client\n")).toBe("from-client\n");
    const policies = await docker(DOCKER, dockerHost, ["inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", `${project}-web-1`, `${project}-client-1`], undefined, env());
    expect(policies.stdout.split("\n")).toEqual(["unless-stopped", "on-failure"]);
  });

  it("docker compose ps", async () => {
    const containers = await ps();
    expect(containers.map((container) => container.Service).sort()).toEqual(["client", "web"]);
    const web = containers.find((container) => container.Service === "web")!;
    expect(web).toMatchObject({ Name: `${project}-web-1`, State: "running", Health: "healthy" });
    expect(web.Publishers).toEqual([expect.objectContaining({ TargetPort: 8080, PublishedPort: expect.any(Number), Protocol: "tcp" })]);
    expect(web.Publishers![0]!.PublishedPort).toBeGreaterThan(0);
    expect(containers.find((container) => container.Service === "client")).toMatchObject({ Name: `${project}-client-1`, State: "running" });
    const table = await must("ps");
    expect(table.stdout).toMatch(new RegExp(`^${project}-web-1 .*Up .*\\(healthy\\).*->8080/tcp`, "m"));
  });

  it("docker compose logs", async () => {
    // client reaches web by its service name, over the project's network.
    const logs = await eventually(
      () => compose("logs", "--no-color"),
      (result) => result.stdout.includes(`client got: ${GREETING}`),
    );
    expect(logs.exitCode, logs.stderr).toBe(0);
    const lines = logs.stdout.split("\n");
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^web-1\\s+\\| web: serving ${GREETING}$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^client-1\\s+\\| client got: ${GREETING}$`)));
    const webOnly = await must("logs", "--no-color", "--no-log-prefix", "web");
    expect(webOnly.stdout.split("\n")[0]).toBe(`web: serving ${GREETING}`);
    expect(webOnly.stdout).not.toContain("client got");
  });

  it("docker compose logs -f", async () => {
    // --tail 0: only what client prints from now on, each line as it comes.
    const follow = execa(DOCKER, ["compose", "--project-name", project, "--file", join(work, "compose.yaml"), "logs", "--follow", "--tail", "0", "--no-color", "client"], {
      env: { DOCKER_HOST: dockerHost, DOCKER_CLI_HINTS: "false", ...env() },
      extendEnv: true,
      reject: false,
      stdin: "ignore",
    });
    const lines: { text: string; at: number }[] = [];
    follow.stdout.on("data", (chunk: Buffer) => {
      for (const text of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push({ text, at: Date.now() });
    });
    try {
      await eventually(async () => lines.length, (count) => count >= 3, 15_000);
    } finally {
      // As a user ends it: ^C.
      follow.kill("SIGINT");
    }
    const ended = await Promise.race([follow.then(() => true), sleep(10_000, false)]);
    if (!ended) follow.kill("SIGKILL");
    expect(ended, "docker compose logs -f ended on SIGINT").toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line.text).toMatch(new RegExp(`^client-1\\s+\\| client got: ${GREETING}$`));
    // A second apart, as client prints them: followed, not a replay of the log.
    expect(lines[2]!.at - lines[0]!.at).toBeGreaterThan(1_200);
  });

  it("docker compose exec", async () => {
    expect(await compose("exec", "-T", "web", "cat", "/www/greeting.txt")).toMatchObject({ stdout: GREETING, exitCode: 0 });
    expect(await compose("exec", "-T", "--env", "WHO=exec", "--workdir", "/shared", "client", "sh", "-c", "echo $WHO in $(pwd): $(cat client.txt)")).toMatchObject({
      stdout: "exec in /shared: from-client",
      exitCode: 0,
    });
    expect((await compose("exec", "-T", "web", "sh", "-c", "exit 3")).exitCode).toBe(3);
  });

  it("docker compose run --rm", async () => {
    const before = await ps();
    const run = await compose("run", "--rm", "-T", "client", "wget", "-q", "-O", "-", "http://web:8080/greeting.txt");
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(GREETING);
    // The running services were left as they were (not recreated), and the one-off container is gone.
    expect(run.stderr).not.toMatch(/Recreate/);
    expect(await ps()).toEqual(before.map((container) => expect.objectContaining({ Name: container.Name, State: "running" })));
    const oneOff = await nerdctl("ps", "--all", "--filter", `label=com.docker.compose.project=${project}`, "--filter", "label=com.docker.compose.oneoff=True", "--quiet");
    expect(oneOff).toMatchObject({ stdout: "", exitCode: 0 });
  });

  it("docker compose stop / start", async () => {
    await must("stop");
    const stopped = await engineContainers();
    expect([...stopped.values()], JSON.stringify([...stopped])).toEqual([expect.stringMatching(/^Exited/), expect.stringMatching(/^Exited/)]);
    expect((await ps()).map((container) => container.State)).toEqual(["exited", "exited"]);
    await must("start");
    const started = await eventually(ps, (containers) => containers.every((container) => container.State === "running" && container.Health !== "starting"));
    expect(started.map((container) => [container.Service, container.State, container.Health]).sort()).toEqual([
      ["client", "running", ""],
      ["web", "running", "healthy"],
    ]);
    expect(await eventually(async () => httpGet(await webUrl("/greeting.txt")), (body) => body === `${GREETING}\n`)).toBe(`${GREETING}\n`);
  });

  it("docker compose up -d --force-recreate web", async () => {
    const id = async () => (await must("ps", "--quiet", "web")).stdout.trim();
    const before = await id();
    const up = await compose("up", "--detach", "--wait", "--force-recreate", "web");
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toMatch(new RegExp(`Container ${project}-web-1\\s+Recreated`));
    expect(await id()).not.toBe(before);
    // Its peers still reach it by its service name, at its new address.
    expect(await compose("exec", "-T", "client", "wget", "-q", "-O", "-", "http://web:8080/greeting.txt")).toMatchObject({ stdout: GREETING, exitCode: 0 });
  });

  it("docker compose down -v", async () => {
    const down = await compose("down", "--volumes");
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await engineContainers()).toEqual(new Map());
    expect(await engineNames("network")).not.toContain(`${project}_backend`);
    expect(await engineNames("volume")).not.toContain(`${project}_shared`);
    expect(await ps()).toEqual([]);
  });

  it("docker compose up of a service on two networks: refused, saying why; down removes what up made", async () => {
    const up = await composeIn(twoNetworks, "two-networks.yaml", ["up", "--detach"]);
    expect(up.exitCode).not.toBe(0);
    // compose (API 1.43) creates the container on one network and connects it to the other.
    expect(up.stderr).toMatch(
      new RegExp(`Error response from daemon: POST /v1\\.43/networks/${twoNetworks}_(front|back)/connect is not supported: nerdctl 2\\.3 cannot attach`),
    );
    const down = await composeIn(twoNetworks, "two-networks.yaml", ["down"]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await engineContainers(twoNetworks)).toEqual(new Map());
    expect((await engineNames("network")).filter((name) => name.startsWith(`${twoNetworks}_`))).toEqual([]);
  });
});
