/**
 * POST /auth, GET /distribution/{name}/json and GET /images/search through
 * the daemon's app, against in-memory registries msw serves where the
 * daemon's fetch goes. Nothing here runs nerdctl.
 */
import type { H3 } from "h3";
import { http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { FakeRegistry } from "../registry/fake-registry.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { send, TEST_FACTS } from "../testing/replay-app.ts";
import { createLogger } from "../log.ts";
import { createDaemonApp } from "./app.ts";
import { requestLog } from "./observe.ts";
import { loadRouteFiles } from "./route-files.ts";

const server = setupServer();
const seen: string[] = [];
server.events.on("request:start", ({ request }) => void seen.push(`${request.method} ${request.url}`));
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  seen.length = 0;
});
afterAll(() => server.close());

const routes = await loadRouteFiles(ROUTES_DIR);
/** The daemon's app with no recorded nerdctl output at all, logging as with --debug. */
function daemonApp(): { app: H3; log: string[]; runner: ReplayRunner } {
  const log: string[] = [];
  const runner = new ReplayRunner([]);
  const app = createDaemonApp({
    routes,
    services: { nerdctl: new Nerdctl(runner), facts: () => TEST_FACTS },
    daemonVersion: TEST_FACTS.version,
    observe: requestLog(createLogger("text", (line) => log.push(line)), true),
  });
  return { app, log, runner };
}

function serve(registry: FakeRegistry, token?: string): FakeRegistry {
  server.use(http.all(`${registry.origin}/v2/*`, ({ request }) => registry.handle(request)));
  if (token) server.use(http.all(token, ({ request }) => registry.token(request)));
  return registry;
}

const PASSWORD = "pa55-w0rd-never-logged";
const BASIC = { kind: "basic", username: "alice", password: PASSWORD } as const;
const registryAuth = (value: unknown) => ({ "X-Registry-Auth": Buffer.from(JSON.stringify(value)).toString("base64url") });
const postJson = (value: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: typeof value === "string" ? value : JSON.stringify(value),
});

describe("POST /auth", () => {
  it("answers Login Succeeded for good credentials and dockerd's 401 for bad ones", async () => {
    const { app } = daemonApp();
    serve(new FakeRegistry("http://127.0.0.1:5000", BASIC));
    const ok = await send(app, "/v1.43/auth", postJson({ username: "alice", password: PASSWORD, serveraddress: "127.0.0.1:5000" }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ Status: "Login Succeeded", IdentityToken: "" });

    const bad = await send(app, "/v1.41/auth", postJson({ username: "alice", password: "wrong", serveraddress: "127.0.0.1:5000" }));
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ message: "login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized" });
  });

  it("hands back the token server's refresh token as IdentityToken", async () => {
    const { app } = daemonApp();
    const auth = { kind: "bearer", realm: "https://auth.example.com/token", service: "registry.example.com", username: "alice", password: PASSWORD, refreshToken: "refresh-1" } as const;
    serve(new FakeRegistry("https://registry.example.com", auth), "https://auth.example.com/token");
    const response = await send(app, "/auth", postJson({ username: "alice", password: PASSWORD, serveraddress: "https://registry.example.com" }));
    expect(await response.json()).toEqual({ Status: "Login Succeeded", IdentityToken: "refresh-1" });
  });

  it("refuses bodies that are not an auth config, before any request", async () => {
    const { app } = daemonApp();
    for (const [body, message] of [
      ["", "EOF"],
      ["{nope", "invalid auth configuration: the request body must be a JSON object"],
      ["[1]", "invalid auth configuration: the request body must be a JSON object"],
    ] as const) {
      const response = await send(app, "/v1.43/auth", postJson(body));
      expect(response.status, body).toBe(400);
      expect(await response.json()).toEqual({ message });
    }
    const huge = await send(app, "/v1.43/auth", postJson({ username: "x".repeat(70 * 1024) }));
    expect(huge.status).toBe(413);
    const badAddress = await send(app, "/v1.43/auth", postJson({ username: "u", password: "p", serveraddress: "-v/:/h" }));
    expect(badAddress.status).toBe(400);
    expect(seen).toEqual([]);
  });

  it("never logs credentials, even with --debug and on failures", async () => {
    const { app, log } = daemonApp();
    serve(new FakeRegistry("http://127.0.0.1:5000", BASIC));
    await send(app, "/v1.43/auth", postJson({ username: "alice", password: PASSWORD, serveraddress: "127.0.0.1:5000" }));
    await send(app, "/v1.43/auth", postJson({ username: "alice", password: `${PASSWORD}x`, serveraddress: "127.0.0.1:5000" }));
    const auth = registryAuth({ username: "alice", password: PASSWORD });
    await send(app, "/v1.43/distribution/127.0.0.1:5000/nosuch:v1/json", { headers: auth });
    await send(app, "/v1.43/images/search?term=127.0.0.1:5000/x", { headers: auth });
    // Every request was logged (failures by the error handler too), none with a secret.
    expect(log.filter((line) => / request method=\w+ path=\S+ status=\d{3} /.test(line))).toHaveLength(4);
    const everything = log.join("\n");
    for (const secret of [PASSWORD, Buffer.from(`alice:${PASSWORD}`).toString("base64"), auth["X-Registry-Auth"]]) expect(everything).not.toContain(secret);
  });
});

describe("GET /distribution/{name}/json", () => {
  function registryWithImage(origin: string, auth?: typeof BASIC) {
    const registry = serve(new FakeRegistry(origin, auth));
    const image = registry.addImage("e2e/busybox", "v1", { architecture: "arm64", os: "linux", variant: "v8" });
    return { registry, image };
  }

  it("answers the manifest's descriptor and platform, names with slashes and ports resolved", async () => {
    const { app } = daemonApp();
    const { image } = registryWithImage("http://127.0.0.1:5000");
    const response = await send(app, "/v1.43/distribution/127.0.0.1:5000/e2e/busybox:v1/json");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ Descriptor: image, Platforms: [{ architecture: "arm64", os: "linux", variant: "v8" }] });
    const byDigest = await send(app, `/v1.43/distribution/127.0.0.1:5000/e2e/busybox@${image.digest}/json`);
    expect((await byDigest.json()).Descriptor).toEqual(image);
  });

  it("honours X-Registry-Auth, and answers 401, 404 and 500 as dockerd", async () => {
    const { app } = daemonApp();
    const { image } = registryWithImage("http://127.0.0.1:5001", BASIC);
    const ok = await send(app, "/v1.43/distribution/127.0.0.1:5001/e2e/busybox:v1/json", { headers: registryAuth({ username: "alice", password: PASSWORD }) });
    expect((await ok.json()).Descriptor).toEqual(image);
    const wrong = await send(app, "/v1.43/distribution/127.0.0.1:5001/e2e/busybox:v1/json", { headers: registryAuth({ username: "alice", password: "no" }) });
    expect([wrong.status, await wrong.json()]).toEqual([401, { message: "unauthorized: authentication required" }]);
    // Unreadable credentials mean an anonymous request, as dockerd.
    const garbage = await send(app, "/v1.43/distribution/127.0.0.1:5001/e2e/busybox:v1/json", { headers: { "X-Registry-Auth": "%%%" } });
    expect([garbage.status, await garbage.json()]).toEqual([500, { message: 'Head "http://127.0.0.1:5001/v2/e2e/busybox/manifests/v1": no basic auth credentials' }]);
    const missing = await send(app, "/v1.43/distribution/127.0.0.1:5001/e2e/busybox:nosuch/json", { headers: registryAuth({ username: "alice", password: PASSWORD }) });
    expect([missing.status, await missing.json()]).toEqual([404, { message: "manifest unknown: manifest unknown" }]);
  });

  it("answers 400 for invalid references, before any request", async () => {
    const { app, runner } = daemonApp();
    for (const name of ["--privileged", "-v%2F:%2Fh", "a%20b", "UPPER", "x;rm%20-rf%20%2F", "%24(id)", "127.0.0.1:5000/e2e/busybox:bad:tag"]) {
      const response = await send(app, `/v1.43/distribution/${name}/json`);
      expect(response.status, name).toBe(400);
      expect((await response.json()).message, name).toMatch(/^invalid reference format/);
    }
    const id = await send(app, `/v1.43/distribution/${"0".repeat(64)}/json`);
    expect([id.status, await id.json()]).toEqual([400, { message: "no manifest found for full image ID" }]);
    expect(seen).toEqual([]);
    expect(runner.misses).toEqual([]);
  });
});

describe("GET /images/search", () => {
  it("searches the catalog of the registry the term names", async () => {
    const { app } = daemonApp();
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000"));
    for (const name of ["busybox", "e2e/busybox", "alpine"]) registry.addImage(name, "v1", { architecture: "amd64", os: "linux" });
    const response = await send(app, "/v1.43/images/search?term=127.0.0.1:5000/busybox&limit=10");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { name: "127.0.0.1:5000/busybox", description: "", star_count: 0, is_official: false, is_automated: false },
      { name: "127.0.0.1:5000/e2e/busybox", description: "", star_count: 0, is_official: false, is_automated: false },
    ]);
    // Only that registry was asked.
    expect(new Set(seen.map((request) => new URL(request.split(" ")[1]!).origin))).toEqual(new Set(["http://127.0.0.1:5000"]));
  });

  it("sends the client's credentials to a registry that wants them", async () => {
    const { app } = daemonApp();
    const registry = serve(new FakeRegistry("http://127.0.0.1:5001", BASIC));
    registry.addImage("private/busybox", "v1", { architecture: "amd64", os: "linux" });
    const anonymous = await send(app, "/v1.43/images/search?term=127.0.0.1:5001/busybox");
    expect([anonymous.status, await anonymous.json()]).toEqual([500, { message: 'Get "http://127.0.0.1:5001/v2/_catalog?n=1000": no basic auth credentials' }]);
    const found = await send(app, "/v1.43/images/search?term=127.0.0.1:5001/busybox", { headers: registryAuth({ username: "alice", password: PASSWORD }) });
    expect((await found.json()).map((result: { name: string }) => result.name)).toEqual(["127.0.0.1:5001/private/busybox"]);
  });

  it("answers dockerd's 400s for limit and filters, before any request", async () => {
    const { app } = daemonApp();
    const limit = await send(app, "/v1.43/images/search?term=busybox&limit=0");
    expect([limit.status, await limit.json()]).toEqual([400, { message: "Limit 0 is outside the range of [1, 100]" }]);
    const filters = await send(app, `/v1.43/images/search?term=busybox&filters=${encodeURIComponent('{"is-official":{"maybe":true}}')}`);
    expect([filters.status, await filters.json()]).toEqual([400, { message: "invalid filter 'is-official=[maybe]'" }]);
    expect(seen).toEqual([]);
  });
});
