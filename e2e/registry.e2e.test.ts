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
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { docker } from "./support/docker-cli.ts";
import { pushBusybox, startEngineRegistry, type EngineRegistry } from "./support/engine-registry.ts";
import { MATRIX, type MatrixCell } from "./support/matrix.ts";

const dockerHost = inject("dockerHost");
const socketPath = dockerHost.replace(/^unix:\/\//, "");
const CREDENTIALS = { user: "e2e-login", password: "e2e-login-secret" };

let work: string;

// --- a registry inside the engine ---------------------------------------------------

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

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-registry-"));
  registry = await startEngineRegistry({ label: "search", work, dockerHost });
  authRegistry = await startEngineRegistry({ label: "login", work, dockerHost }, CREDENTIALS);
  for (const repository of ["e2e/busybox", "tools/busybox-extra", "alpine"]) {
    pushed[`${registry.host}/${repository}:v1`] = await pushBusybox(dockerHost, `${registry.host}/${repository}:v1`);
  }
  const setupConfig = join(work, "setup-config");
  await mkdir(setupConfig);
  const auth = Buffer.from(`${CREDENTIALS.user}:${CREDENTIALS.password}`).toString("base64");
  await writeFile(join(setupConfig, "config.json"), JSON.stringify({ auths: { [authRegistry.host]: { auth } } }));
  pushed[`${authRegistry.host}/private/busybox:v1`] = await pushBusybox(dockerHost, `${authRegistry.host}/private/busybox:v1`, setupConfig);
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
