/**
 * What nerdctld asks registries itself: `docker login` / `docker logout`
 * (POST /auth), GET /distribution/{name}/json over raw HTTP, and `docker
 * search` of a registry's catalog, against Debian's docker-registry with and
 * without htpasswd auth.
 *
 * The registries run inside the engine (a container on the engine's host
 * network), so the daemon reaches them on 127.0.0.1 whichever provider runs
 * it: on this host, or in a Testcontainers container.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { docker, DOCKER_CLIS } from "./support/docker-cli.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { MATRIX, type MatrixCell } from "./support/matrix.ts";
import { bcryptHash, DEFAULT_REGISTRY_BINARY } from "./support/registry.ts";
import { packTar, type TarEntry } from "./support/tar.ts";

const dockerHost = inject("dockerHost");
const socketPath = dockerHost.replace(/^unix:\/\//, "");
const CLI = DOCKER_CLIS[0]!.path;
const CREDENTIALS = { user: "e2e-login", password: "e2e-login-secret" };

let work: string;

// --- a registry inside the engine ---------------------------------------------------

interface EngineRegistry {
  host: string;
  stop(): Promise<void>;
}

/** The registry binary and the shared libraries it loads, as rootfs entries. */
async function registryRootfs(port: number, htpasswd?: string): Promise<TarEntry[]> {
  const binary = DEFAULT_REGISTRY_BINARY;
  const libraries = execFileSync("ldd", [binary], { encoding: "utf8" })
    .split("\n")
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1] ?? /^\s*(\/\S+)/.exec(line)?.[1])
    .filter((path): path is string => Boolean(path));
  const directories = new Set<string>(["etc", "etc/registry", "var", "var/lib", "var/lib/registry", "tmp"]);
  const files: TarEntry[] = [];
  for (const path of [binary, ...libraries]) {
    const real = await realpath(path);
    const name = path.slice(1);
    for (let dir = name.slice(0, name.lastIndexOf("/")); dir; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/")))) directories.add(dir);
    files.push({ type: "file", name, mode: 0o755, content: createReadStream(real), size: (await stat(real)).size });
  }
  const config = {
    version: 0.1,
    log: { level: "info", formatter: "text" },
    storage: { filesystem: { rootdirectory: "/var/lib/registry" }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: "nerdctld-e2e" },
    ...(htpasswd ? { auth: { htpasswd: { realm: "nerdctld-e2e", path: "/etc/registry/htpasswd" } } } : {}),
  };
  files.push({ type: "file", name: "etc/registry/config.yml", content: Buffer.from(JSON.stringify(config)) });
  if (htpasswd) files.push({ type: "file", name: "etc/registry/htpasswd", content: Buffer.from(htpasswd) });
  return [...[...directories].sort().map((name): TarEntry => ({ type: "directory", name, mode: 0o755 })), ...files];
}

/** Debian's docker-registry as a container of the engine on its host network (image imported through the daemon). */
async function startEngineRegistry(label: string, htpasswd?: { user: string; password: string }): Promise<EngineRegistry> {
  const port = 20000 + Math.floor(Math.random() * 40000);
  const image = `nerdctld-e2e-registry-${label}:${port}`;
  const name = `nerdctld-e2e-registry-${label}-${port}`;
  const archive = join(work, `${label}-rootfs.tar`);
  const entries = await registryRootfs(port, htpasswd ? `${htpasswd.user}:${bcryptHash(htpasswd.password)}\n` : undefined);
  await pipeline(Readable.from(packTar(entries)), createWriteStream(archive));
  const imported = await docker(CLI, dockerHost, ["import", archive, image]);
  if (imported.exitCode !== 0) throw new Error(`importing the registry image: ${imported.stderr}`);
  const started = await engineNerdctl(["run", "--detach", "--net", "host", "--name", name, image, "/usr/bin/docker-registry", "serve", "/etc/registry/config.yml"]);
  if (started.exitCode !== 0) throw new Error(`starting the registry: ${started.stderr}`);
  const stop = async () => {
    await engineNerdctl(["rm", "--force", name]);
    await engineNerdctl(["rmi", "--force", image]);
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    const logs = await engineNerdctl(["logs", name]);
    if (/listening on 127\.0\.0\.1/.test(logs.stdout + logs.stderr)) return { host: `127.0.0.1:${port}`, stop };
    if (/address already in use|level=fatal|panic/.test(logs.stdout + logs.stderr)) break;
    await sleep(100);
  }
  const logs = await engineNerdctl(["logs", name]);
  await stop();
  throw new Error(`the registry did not start:\n${logs.stdout}${logs.stderr}`);
}

// --- raw API access -----------------------------------------------------------------

interface RawResponse {
  status: number;
  body: string;
  json(): unknown;
}

function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { ...(body ? { "Content-Type": "application/json" } : {}), ...headers } }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body: text, json: () => JSON.parse(text) as unknown }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** X-Registry-Auth as the docker CLI encodes it (base64url JSON). */
function registryAuth(auth: Record<string, string>): Record<string, string> {
  return { "X-Registry-Auth": Buffer.from(JSON.stringify(auth)).toString("base64url") };
}

/** A docker CLI config directory of its own for a cell: its namespace header, plus credentials when given. */
async function cellConfig(cell: MatrixCell, label: string, auths?: Record<string, string>): Promise<string> {
  const dir = join(work, `config-${cell.cli}-${cell.namespace}-${label}`);
  await mkdir(dir, { recursive: true });
  const config = {
    HttpHeaders: cell.namespace === "default" ? {} : { "X-Containerd-Namespace": cell.namespace },
    ...(auths ? { auths: Object.fromEntries(Object.entries(auths).map(([host, secret]) => [host, { auth: Buffer.from(secret).toString("base64") }])) } : {}),
  };
  await writeFile(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

async function storedAuths(dir: string): Promise<Record<string, unknown>> {
  return ((JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as { auths?: Record<string, unknown> }).auths ?? {});
}

// --- the registries and their images ------------------------------------------------

let registry: EngineRegistry;
let authRegistry: EngineRegistry;
/** What `docker push` reported for the images pushed in setup (digest, size). */
const pushed: Record<string, { digest: string; size: number }> = {};
const platform = { os: "linux", architecture: process.arch === "x64" ? "amd64" : process.arch };

/** Pushes the seeded busybox as ref through the daemon; returns docker push's digest and size. */
async function pushBusybox(ref: string, dockerConfig?: string): Promise<{ digest: string; size: number }> {
  const tagged = await engineNerdctl(["tag", "busybox", ref]);
  if (tagged.exitCode !== 0) throw new Error(`tag ${ref}: ${tagged.stderr}`);
  const result = await docker(CLI, dockerHost, ["push", ref], undefined, dockerConfig ? { DOCKER_CONFIG: dockerConfig } : {});
  await engineNerdctl(["rmi", ref]);
  const match = /: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(result.stdout);
  if (result.exitCode !== 0 || !match) throw new Error(`push ${ref}: ${result.stderr}${result.stdout}`);
  return { digest: match[1]!, size: Number(match[2]) };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-registry-"));
  registry = await startEngineRegistry("search", undefined);
  authRegistry = await startEngineRegistry("login", CREDENTIALS);
  for (const repository of ["e2e/busybox", "tools/busybox-extra", "alpine"]) {
    pushed[`${registry.host}/${repository}:v1`] = await pushBusybox(`${registry.host}/${repository}:v1`);
  }
  const setupConfig = join(work, "setup-config");
  await mkdir(setupConfig);
  const auth = Buffer.from(`${CREDENTIALS.user}:${CREDENTIALS.password}`).toString("base64");
  await writeFile(join(setupConfig, "config.json"), JSON.stringify({ auths: { [authRegistry.host]: { auth } } }));
  pushed[`${authRegistry.host}/private/busybox:v1`] = await pushBusybox(`${authRegistry.host}/private/busybox:v1`, setupConfig);
});

afterAll(async () => {
  await registry?.stop();
  await authRegistry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each(MATRIX)("$title", (cell) => {
  const namespaceHeader: Record<string, string> = cell.namespace === "default" ? {} : { "X-Containerd-Namespace": cell.namespace };
  const run = (args: string[], dockerConfig: string, input?: string) => docker(cell.cliPath, dockerHost, args, input, { DOCKER_CONFIG: dockerConfig });

  it("docker login", async () => {
    const config = await cellConfig(cell, "login");
    const login = await run(["login", "--username", CREDENTIALS.user, "--password-stdin", authRegistry.host], config, CREDENTIALS.password);
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stdout).toContain("Login Succeeded");
    // The CLI stores what the daemon accepted; the daemon stores nothing.
    const stored = (await storedAuths(config))[authRegistry.host] as { auth?: string } | undefined;
    expect(Buffer.from(stored?.auth ?? "", "base64").toString()).toBe(`${CREDENTIALS.user}:${CREDENTIALS.password}`);

    const wrong = await run(["login", "--username", CREDENTIALS.user, "--password-stdin", authRegistry.host], await cellConfig(cell, "wrong"), "not-the-password");
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toContain(`Error response from daemon: login attempt to http://${authRegistry.host}/v2/ failed with status: 401 Unauthorized`);

    // A registry without auth takes any credentials, as with dockerd.
    const open = await run(["login", "--username", "anyone", "--password-stdin", registry.host], await cellConfig(cell, "open"), "anything");
    expect(open.exitCode, open.stderr).toBe(0);
    expect(open.stdout).toContain("Login Succeeded");

    // Nothing listening there.
    const closed = await run(["login", "--username", "u", "--password-stdin", "127.0.0.1:2"], await cellConfig(cell, "closed"), "p");
    expect(closed.exitCode).not.toBe(0);
    expect(closed.stderr).toContain('Error response from daemon: Get "http://127.0.0.1:2/v2/": dial tcp 127.0.0.1:2: connect: connection refused');
  });

  it("docker logout", async () => {
    const config = await cellConfig(cell, "logout");
    const login = await run(["login", "--username", CREDENTIALS.user, "--password-stdin", authRegistry.host], config, CREDENTIALS.password);
    expect(login.exitCode, login.stderr).toBe(0);
    const search = await run(["search", "--format", "{{.Name}}", `${authRegistry.host}/busybox`], config);
    expect(search.exitCode, search.stderr).toBe(0);
    expect(search.stdout.trim().split("\n")).toEqual([`${authRegistry.host}/private/busybox`]);

    const logout = await run(["logout", authRegistry.host], config);
    expect(logout.exitCode, logout.stderr).toBe(0);
    expect(logout.stdout).toContain(`Removing login credentials for ${authRegistry.host}`);
    expect(await storedAuths(config)).not.toHaveProperty(authRegistry.host);
    // Logged out, the CLI sends no credentials: dockerd's error (a 500, so the CLI does not prompt for a login).
    const refused = await run(["search", "--format", "{{.Name}}", `${authRegistry.host}/busybox`], config);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(`Error response from daemon: Get "http://${authRegistry.host}/v2/_catalog?n=1000": no basic auth credentials`);
  });

  it("docker search", async () => {
    const config = await cellConfig(cell, "search");
    const found = await run(["search", "--no-trunc", "--format", "{{.Name}}\t{{.StarCount}}", `${registry.host}/busybox`], config);
    expect(found.exitCode, found.stderr).toBe(0);
    expect(found.stdout.trim().split("\n").map((line) => line.split("\t"))).toEqual([
      [`${registry.host}/e2e/busybox`, "0"],
      [`${registry.host}/tools/busybox-extra`, "0"],
    ]);
    const limited = await run(["search", "--limit", "1", "--format", "{{.Name}}", `${registry.host}/busybox`], config);
    expect(limited.stdout.trim()).toBe(`${registry.host}/e2e/busybox`);
    const official = await run(["search", "--filter", "is-official=true", "--format", "{{.Name}}", `${registry.host}/busybox`], config);
    expect(official.exitCode, official.stderr).toBe(0);
    expect(official.stdout.trim()).toBe("");
    const none = await run(["search", "--format", "{{.Name}}", `${registry.host}/nothing-like-this`], config);
    expect([none.exitCode, none.stdout.trim()]).toEqual([0, ""]);

    // Docker Hub's index cannot be reached from here: dockerd's offline error, naming the request.
    const hub = await run(["search", "busybox"], config);
    expect(hub.exitCode).not.toBe(0);
    expect(hub.stderr).toMatch(/Error response from daemon: Get "https:\/\/index\.docker\.io\/v1\/search\?q=busybox&n=\d+": /);
  });

  it("GET /distribution/{name}/json", async () => {
    const ref = `${registry.host}/e2e/busybox:v1`;
    const response = await raw("GET", `/v1.43/distribution/${ref}/json`, namespaceHeader);
    expect(response.status, response.body).toBe(200);
    const inspect = response.json() as { Descriptor: { mediaType: string; digest: string; size: number }; Platforms: { os: string; architecture: string }[] };
    expect(inspect.Descriptor).toEqual({ mediaType: expect.stringMatching(/^application\/vnd\.(oci\.image|docker\.distribution)\.(manifest|index|manifest\.list)/), ...pushed[ref] });
    expect(inspect.Platforms).toContainEqual(expect.objectContaining(platform));

    // By digest, the same answer.
    const byDigest = await raw("GET", `/v1.43/distribution/${registry.host}/e2e/busybox@${pushed[ref]!.digest}/json`, namespaceHeader);
    expect(byDigest.json()).toEqual(inspect);

    const missing = await raw("GET", `/v1.43/distribution/${registry.host}/e2e/busybox:nosuch/json`, namespaceHeader);
    expect([missing.status, missing.json()]).toEqual([404, { message: "manifest unknown: manifest unknown" }]);

    const invalid = await raw("GET", "/v1.43/distribution/--privileged/json", namespaceHeader);
    expect(invalid.status).toBe(400);
    expect((invalid.json() as { message: string }).message).toMatch(/^invalid reference format/);
  });

  it("GET /distribution/{name}/json with X-Registry-Auth", async () => {
    const ref = `${authRegistry.host}/private/busybox:v1`;
    const ok = await raw("GET", `/v1.43/distribution/${ref}/json`, { ...namespaceHeader, ...registryAuth({ username: CREDENTIALS.user, password: CREDENTIALS.password }) });
    expect(ok.status, ok.body).toBe(200);
    expect((ok.json() as { Descriptor: unknown }).Descriptor).toMatchObject(pushed[ref]!);

    const wrong = await raw("GET", `/v1.43/distribution/${ref}/json`, { ...namespaceHeader, ...registryAuth({ username: CREDENTIALS.user, password: "wrong" }) });
    expect([wrong.status, wrong.json()]).toEqual([401, { message: "unauthorized: authentication required" }]);
    const anonymous = await raw("GET", `/v1.43/distribution/${ref}/json`, namespaceHeader);
    expect([anonymous.status, anonymous.json()]).toEqual([500, { message: `Head "http://${authRegistry.host}/v2/private/busybox/manifests/v1": no basic auth credentials` }]);
  });

  it("POST /auth", async () => {
    const ok = await raw("POST", "/v1.43/auth", namespaceHeader, JSON.stringify({ username: CREDENTIALS.user, password: CREDENTIALS.password, serveraddress: `http://${authRegistry.host}/v1/` }));
    expect([ok.status, ok.json()]).toEqual([200, { Status: "Login Succeeded", IdentityToken: "" }]);
    const none = await raw("POST", "/v1.43/auth", namespaceHeader, JSON.stringify({ serveraddress: authRegistry.host }));
    expect([none.status, none.json()]).toEqual([500, { message: `Get "http://${authRegistry.host}/v2/": no basic auth credentials` }]);
    const empty = await raw("POST", "/v1.43/auth", namespaceHeader, "");
    expect(empty.status).toBe(400);
  });
});
