/**
 * The daemon's own registry calls (login, distribution, search) against
 * in-memory registries that msw serves where Node's fetch goes: what is
 * asked of the registry, and what a client is told.
 */
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ApiError } from "../errors.ts";
import { RESPONSE_LIMITS } from "./client.ts";
import { inspectDistribution } from "./distribution.ts";
import { FakeRegistry, sha256 } from "./fake-registry.ts";
import { login as registryLogin, type LoginOptions } from "./login.ts";
import { searchImages as registrySearch, type SearchOptions } from "./search.ts";
import { parseSearchQuery, type SearchParameters } from "../docker/image-search.ts";
import { registryCredentials, type RegistryAuth } from "../docker/registry-auth.ts";
import { statusOf } from "../server/error-response.ts";

/** As POST /auth reaches the registry: Docker's AuthConfig, turned into credentials. */
const login = (auth: RegistryAuth, options?: LoginOptions) => registryLogin(auth.serveraddress, registryCredentials(auth), options);
/** As GET /images/search reaches it: the parameters as sent, checked first. */
const searchImages = async (parameters: SearchParameters, options?: SearchOptions) => registrySearch(parseSearchQuery(parameters), options);

const server = setupServer();
/** Every request that reached msw (handled or not), for "before any request" checks. */
const seen: string[] = [];
server.events.on("request:start", ({ request }) => void seen.push(`${request.method} ${request.url}`));
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  seen.length = 0;
});
afterAll(() => server.close());

/** Serves the registry (and its token server and storage) through msw. */
function serve(registry: FakeRegistry, extra: { token?: string; storage?: string } = {}): FakeRegistry {
  server.use(http.all(`${registry.origin}/v2/*`, ({ request }) => registry.handle(request)));
  server.use(http.all(`${registry.origin}/v2`, ({ request }) => registry.handle(request)));
  if (extra.token) server.use(http.all(extra.token, ({ request }) => registry.token(request)));
  if (extra.storage) server.use(http.get(`${extra.storage}/*`, ({ request }) => registry.storage(request)));
  return registry;
}

async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { status: statusOf(error as ApiError), message: (error as ApiError).message };
  }
  throw new Error("expected a failure");
}

const BASIC = { kind: "basic", username: "alice", password: "s3cret" } as const;
const bearer = (origin = "https://auth.example.com") =>
  ({ kind: "bearer", realm: `${origin}/token`, service: "registry.example.com", username: "alice", password: "s3cret", refreshToken: "refresh-1" }) as const;

describe("login (POST /auth)", () => {
  it("Basic: checks the credentials on /v2/ and succeeds", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000", BASIC));
    expect(await login({ username: "alice", password: "s3cret", serveraddress: "127.0.0.1:5000" })).toEqual({ Status: "Login Succeeded", IdentityToken: "" });
    expect(registry.requests.map((request) => [request.method, request.url, request.authorization])).toEqual([
      ["GET", "http://127.0.0.1:5000/v2/", null],
      ["GET", "http://127.0.0.1:5000/v2/", `Basic ${Buffer.from("alice:s3cret").toString("base64")}`],
    ]);
  });

  it("Basic: a wrong password is dockerd's message, as a 401", async () => {
    serve(new FakeRegistry("http://127.0.0.1:5000", BASIC));
    expect(await failure(login({ username: "alice", password: "wrong", serveraddress: "http://127.0.0.1:5000/v1/" }))).toEqual({
      status: 401,
      message: "login attempt to http://127.0.0.1:5000/v2/ failed with status: 401 Unauthorized",
    });
  });

  it("Basic: no credentials at all is dockerd's 500, refused before sending anything", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000", BASIC));
    expect(await failure(login({ serveraddress: "127.0.0.1:5000" }))).toEqual({ status: 500, message: 'Get "http://127.0.0.1:5000/v2/": no basic auth credentials' });
    expect(registry.requests).toHaveLength(1);
  });

  it("a registry without auth takes any credentials, as dockerd", async () => {
    serve(new FakeRegistry("http://localhost:5000"));
    expect(await login({ username: "x", password: "y", serveraddress: "localhost:5000" })).toEqual({ Status: "Login Succeeded", IdentityToken: "" });
  });

  it("Bearer: gets a token with the credentials and hands back the refresh token as IdentityToken", async () => {
    const registry = serve(new FakeRegistry("https://registry.example.com", bearer()), { token: "https://auth.example.com/token" });
    expect(await login({ username: "alice", password: "s3cret", serveraddress: "registry.example.com" })).toEqual({ Status: "Login Succeeded", IdentityToken: "refresh-1" });
    expect(registry.tokenRequests).toHaveLength(1);
    const token = new URL(registry.tokenRequests[0]!.url);
    expect(Object.fromEntries(token.searchParams)).toEqual({ service: "registry.example.com", offline_token: "true", client_id: "docker", account: "alice" });
    expect(registry.tokenRequests[0]!.authorization).toBe(`Basic ${Buffer.from("alice:s3cret").toString("base64")}`);
    expect(registry.requests.map((request) => request.authorization)).toEqual([null, "Bearer token-"]);
  });

  it("Bearer: bad credentials are dockerd's 401 `Get \"…/v2/\": unauthorized: …`", async () => {
    const registry = serve(new FakeRegistry("https://registry.example.com", bearer()), { token: "https://auth.example.com/token" });
    expect(await failure(login({ username: "alice", password: "wrong", serveraddress: "https://registry.example.com" }))).toEqual({
      status: 401,
      message: 'Get "https://registry.example.com/v2/": unauthorized: incorrect username or password',
    });
    // The failure names the registry request, never the token URL (it carries the account).
    expect(registry.requests).toHaveLength(1);
  });

  it("Bearer: an identity token is exchanged as a refresh token (OAuth2), no password needed", async () => {
    const registry = serve(new FakeRegistry("https://registry.example.com", bearer()), { token: "https://auth.example.com/token" });
    expect(await login({ identitytoken: "refresh-1", serveraddress: "registry.example.com" })).toEqual({ Status: "Login Succeeded", IdentityToken: "refresh-1" });
    expect(registry.tokenRequests[0]!.method).toBe("POST");
    expect(Object.fromEntries(new URLSearchParams(registry.tokenRequests[0]!.body))).toEqual({
      client_id: "docker",
      grant_type: "refresh_token",
      refresh_token: "refresh-1",
      scope: "",
      service: "registry.example.com",
    });
    expect(await failure(login({ identitytoken: "stale", serveraddress: "registry.example.com" }))).toMatchObject({ status: 401 });
  });

  it("Docker Hub's addresses all mean registry-1.docker.io over HTTPS", async () => {
    const hub = serve(new FakeRegistry("https://registry-1.docker.io"));
    for (const serveraddress of [undefined, "https://index.docker.io/v1/", "docker.io", "index.docker.io"]) {
      expect(await login({ username: "u", password: "p", ...(serveraddress ? { serveraddress } : {}) })).toMatchObject({ Status: "Login Succeeded" });
    }
    expect(new Set(hub.requests.map((request) => request.url))).toEqual(new Set(["https://registry-1.docker.io/v2/"]));
  });

  it("an unreachable registry, or one too slow, is a 500 naming the request", async () => {
    server.use(http.get("https://down.example.com/v2/", () => HttpResponse.error()));
    expect(await failure(login({ username: "u", password: "p", serveraddress: "down.example.com" }))).toMatchObject({
      status: 500,
      message: expect.stringMatching(/^Get "https:\/\/down\.example\.com\/v2\/": /),
    });
    server.use(http.get("https://slow.example.com/v2/", async () => {
      await delay(2000);
      return HttpResponse.json({});
    }));
    const slow = await failure(login({ username: "u", password: "p", serveraddress: "slow.example.com" }, { timeoutMs: 50 }));
    expect(slow).toEqual({ status: 500, message: expect.stringMatching(/^Get "https:\/\/slow\.example\.com\/v2\/": context deadline exceeded/) });
  });

  it("never sends credentials to a plain-HTTP token server of a remote registry", async () => {
    const registry = serve(new FakeRegistry("https://registry.example.com", bearer("http://auth.example.com")), { token: "http://auth.example.com/token" });
    expect(await failure(login({ username: "alice", password: "s3cret", serveraddress: "registry.example.com" }))).toEqual({
      status: 500,
      message: 'Get "https://registry.example.com/v2/": refusing to send credentials to the token server http://auth.example.com over plain HTTP',
    });
    expect(registry.tokenRequests).toEqual([]);
  });

  it("refuses a server address that is not a registry host before any request", async () => {
    expect(await failure(login({ username: "u", password: "p", serveraddress: "https://a b/" }))).toMatchObject({ status: 400 });
    expect(seen).toEqual([]);
  });
});

describe("distribution (GET /distribution/{name}/json)", () => {
  function withImages(registry: FakeRegistry) {
    const arm = registry.addImage("e2e/busybox", "arm", { architecture: "arm", os: "linux", variant: "v7" });
    const amd = registry.addImage("e2e/busybox", "amd", { architecture: "amd64", os: "linux" });
    const index = registry.addManifest("e2e/busybox", "v1", "application/vnd.oci.image.index.v1+json", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { ...arm, platform: { architecture: "arm", os: "linux", variant: "v7" } },
        { ...amd, platform: { architecture: "amd64", os: "linux" } },
      ],
    });
    return { arm, amd, index };
  }

  it("an index: its descriptor (HEAD) and its manifests' platforms (GET by digest)", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000"));
    const { index } = withImages(registry);
    expect(await inspectDistribution("127.0.0.1:5000/e2e/busybox:v1")).toEqual({
      Descriptor: index,
      Platforms: [
        { architecture: "arm", os: "linux", variant: "v7" },
        { architecture: "amd64", os: "linux" },
      ],
    });
    expect(registry.requests.map((request) => `${request.method} ${new URL(request.url).pathname}`)).toEqual([
      "GET /v2/",
      "HEAD /v2/e2e/busybox/manifests/v1",
      `GET /v2/e2e/busybox/manifests/${index.digest}`,
    ]);
    expect(registry.requests[1]!.accept).toContain("application/vnd.docker.distribution.manifest.list.v2+json");
    expect(registry.requests[1]!.accept).toContain("application/vnd.oci.image.manifest.v1+json");
  });

  it("a single manifest: its config's platform (the config blob, verified)", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000"));
    const { arm } = withImages(registry);
    expect(await inspectDistribution("127.0.0.1:5000/e2e/busybox:arm")).toEqual({
      Descriptor: arm,
      Platforms: [{ architecture: "arm", os: "linux", variant: "v7" }],
    });
    expect(registry.requests.at(-1)!.url).toMatch(/\/v2\/e2e\/busybox\/blobs\/sha256:[0-9a-f]{64}$/);
  });

  it("by digest: no tag lookup; a registry without HEAD digests is asked with GET", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000"));
    const { amd } = withImages(registry);
    expect((await inspectDistribution(`127.0.0.1:5000/e2e/busybox@${amd.digest}`)).Descriptor).toEqual(amd);
    expect(registry.requests.some((request) => request.method === "HEAD")).toBe(false);
    registry.headWithoutDigest = true;
    expect((await inspectDistribution("127.0.0.1:5000/e2e/busybox:amd")).Descriptor).toEqual(amd);
  });

  it("a missing tag, repository or digest is dockerd's 404", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000"));
    withImages(registry);
    for (const name of ["127.0.0.1:5000/e2e/busybox:nosuch", "127.0.0.1:5000/e2e/busybox", "127.0.0.1:5000/nosuch", `127.0.0.1:5000/e2e/busybox@${sha256("x")}`]) {
      expect(await failure(inspectDistribution(name)), name).toEqual({ status: 404, message: "manifest unknown: manifest unknown" });
    }
  });

  it("content that does not match its digest is refused", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000"));
    const { arm } = withImages(registry);
    server.use(http.get(`http://127.0.0.1:5000/v2/e2e/busybox/manifests/${arm.digest}`, () => HttpResponse.json({ schemaVersion: 2, tampered: true })));
    expect(await failure(inspectDistribution(`127.0.0.1:5000/e2e/busybox@${arm.digest}`))).toMatchObject({ status: 502, message: expect.stringContaining("manifest verification failed") });
  });

  it("Basic and Bearer registries with X-Registry-Auth credentials; dockerd's 401 or 500 without", async () => {
    const basic = serve(new FakeRegistry("http://127.0.0.1:5001", BASIC));
    const { index } = withImages(basic);
    expect((await inspectDistribution("127.0.0.1:5001/e2e/busybox:v1", { credentials: { username: "alice", password: "s3cret" } })).Descriptor).toEqual(index);
    expect(await failure(inspectDistribution("127.0.0.1:5001/e2e/busybox:v1", { credentials: { username: "alice", password: "bad" } }))).toEqual({
      status: 401,
      message: "unauthorized: authentication required",
    });
    expect(await failure(inspectDistribution("127.0.0.1:5001/e2e/busybox:v1"))).toEqual({
      status: 500,
      message: 'Head "http://127.0.0.1:5001/v2/e2e/busybox/manifests/v1": no basic auth credentials',
    });

    const tokens = serve(new FakeRegistry("https://registry.example.com", bearer()), { token: "https://auth.example.com/token" });
    withImages(tokens);
    const found = await inspectDistribution("registry.example.com/e2e/busybox:arm", { credentials: { username: "alice", password: "s3cret" } });
    expect(found.Platforms).toEqual([{ architecture: "arm", os: "linux", variant: "v7" }]);
    // One token for the repository's pull scope, used for the manifest and the config alike.
    expect(tokens.tokenRequests.map((request) => new URL(request.url).searchParams.getAll("scope"))).toEqual([["repository:e2e/busybox:pull"]]);
    expect(new Set(tokens.requests.slice(1).map((request) => request.authorization))).toEqual(new Set(["Bearer token-repository:e2e/busybox:pull"]));
    expect(await failure(inspectDistribution("registry.example.com/e2e/busybox:arm", { credentials: { username: "alice", password: "bad" } }))).toEqual({
      status: 500,
      message: 'Head "https://registry.example.com/v2/e2e/busybox/manifests/arm": unauthorized: incorrect username or password',
    });
  });

  it("follows a blob redirect to storage without the registry's credentials", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5001", BASIC), { storage: "http://127.0.0.2:9000" });
    registry.blobRedirect = "http://127.0.0.2:9000/blobs";
    withImages(registry);
    const found = await inspectDistribution("127.0.0.1:5001/e2e/busybox:amd", { credentials: { username: "alice", password: "s3cret" } });
    expect(found.Platforms).toEqual([{ architecture: "amd64", os: "linux" }]);
    const storage = registry.requests.at(-1)!;
    expect(storage.url).toMatch(/^http:\/\/127\.0\.0\.2:9000\/blobs\/sha256:/);
    expect(storage.authorization).toBeNull();
  });

  it("reads no more than a manifest's limit", async () => {
    serve(new FakeRegistry("http://127.0.0.1:5000"));
    const huge = new Uint8Array(RESPONSE_LIMITS.manifest + 1);
    server.use(
      http.head("http://127.0.0.1:5000/v2/big/manifests/v1", () => new HttpResponse(null, { status: 404 })),
      http.get("http://127.0.0.1:5000/v2/big/manifests/v1", () => new HttpResponse(huge, { headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } })),
      // Streamed without a length, still cut at the limit.
      http.head("http://127.0.0.1:5000/v2/stream/manifests/v1", () => new HttpResponse(null, { status: 404 })),
      http.get("http://127.0.0.1:5000/v2/stream/manifests/v1", () =>
        new HttpResponse(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new Uint8Array(1024 * 1024));
            },
          }),
        ),
      ),
    );
    expect(await failure(inspectDistribution("127.0.0.1:5000/big:v1"))).toMatchObject({ status: 502, message: expect.stringContaining("larger than the 4194304 bytes allowed") });
    expect(await failure(inspectDistribution("127.0.0.1:5000/stream:v1"))).toMatchObject({ status: 502, message: expect.stringContaining("larger than the 4194304 bytes allowed") });
  });

  it("Docker Hub references go to registry-1.docker.io as library/…", async () => {
    const hub = serve(new FakeRegistry("https://registry-1.docker.io"));
    hub.addImage("library/busybox", "latest", { architecture: "amd64", os: "linux" });
    expect((await inspectDistribution("busybox")).Platforms).toEqual([{ architecture: "amd64", os: "linux" }]);
    expect(hub.requests[1]!.url).toBe("https://registry-1.docker.io/v2/library/busybox/manifests/latest");
  });

  it("refuses invalid references and image IDs before any request", async () => {
    for (const name of ["--privileged", "UPPER", "library/Busybox", "a b", "127.0.0.1:5000/../etc", "x".repeat(300)]) {
      expect(await failure(inspectDistribution(name)), name).toMatchObject({ status: 400, message: expect.stringContaining("invalid reference format") });
    }
    expect(await failure(inspectDistribution("a".repeat(64)))).toEqual({ status: 400, message: "no manifest found for full image ID" });
    expect(seen).toEqual([]);
  });
});

describe("search (GET /images/search)", () => {
  it("searches a v2 registry's catalog by the term, across pages, up to the limit", async () => {
    const registry = serve(new FakeRegistry("http://127.0.0.1:5000"));
    registry.catalogPageSize = 2;
    for (const name of ["apps/busybox", "busybox", "alpine", "tools/BusyBoxer", "zz/busybox"]) registry.addImage(name, "v1", { architecture: "amd64", os: "linux" });
    const results = await searchImages({ term: "127.0.0.1:5000/busy" });
    expect(results).toEqual(
      ["apps/busybox", "busybox", "tools/BusyBoxer", "zz/busybox"].map((name) => ({
        name: `127.0.0.1:5000/${name}`,
        description: "",
        star_count: 0,
        is_official: false,
        is_automated: false,
      })),
    );
    expect((await searchImages({ term: "127.0.0.1:5000/busy", limit: "2" })).map((result) => result.name)).toEqual(["127.0.0.1:5000/apps/busybox", "127.0.0.1:5000/busybox"]);
    expect(await searchImages({ term: "127.0.0.1:5000/busy", filters: JSON.stringify({ "is-official": { true: true } }) })).toEqual([]);
    expect(await searchImages({ term: "127.0.0.1:5000/nothing-like-it" })).toEqual([]);
  });

  it("asks a Bearer registry for a catalog token with the client's credentials", async () => {
    const registry = serve(new FakeRegistry("https://registry.example.com", bearer()), { token: "https://auth.example.com/token" });
    registry.addImage("team/busybox", "v1", { architecture: "amd64", os: "linux" });
    const results = await searchImages({ term: "registry.example.com/busybox" }, { credentials: { username: "alice", password: "s3cret" } });
    expect(results.map((result) => result.name)).toEqual(["registry.example.com/team/busybox"]);
    expect(new URL(registry.tokenRequests[0]!.url).searchParams.get("scope")).toBe("registry:catalog:*");
  });

  it("a registry without a catalog is dockerd's `Unexpected status code`", async () => {
    server.use(
      http.get("http://127.0.0.1:5000/v2/", () => HttpResponse.json({})),
      http.get("http://127.0.0.1:5000/v2/_catalog", () => new HttpResponse(null, { status: 404 })),
    );
    expect(await failure(searchImages({ term: "127.0.0.1:5000/x" }))).toMatchObject({ status: 500, message: expect.stringMatching(/^Unexpected status code 404/) });
  });

  it("Docker Hub: asks index.docker.io's v1 search and filters its answer", async () => {
    let asked = "";
    server.use(
      http.get("https://index.docker.io/v1/search", ({ request }) => {
        asked = request.url;
        return HttpResponse.json({
          num_results: 2,
          query: "busybox",
          results: [
            { name: "busybox", description: "Busybox base image.", star_count: 3000, is_official: true, is_automated: false },
            { name: "someone/busybox", description: "", star_count: 2, is_official: false, is_automated: true },
          ],
        });
      }),
    );
    expect((await searchImages({ term: "library/busybox" })).map((result) => result.name)).toEqual(["busybox", "someone/busybox"]);
    expect(asked).toBe("https://index.docker.io/v1/search?q=busybox&n=25");
    const filters = JSON.stringify({ stars: ["10"], "is-official": ["true"] });
    expect(await searchImages({ term: "busybox", filters, limit: "5" })).toEqual([
      { name: "busybox", description: "Busybox base image.", star_count: 3000, is_official: true, is_automated: false },
    ]);
  });

  it("Docker Hub unreachable: a 500 naming the request, as dockerd offline", async () => {
    server.use(http.get("https://index.docker.io/v1/search", () => HttpResponse.error()));
    expect(await failure(searchImages({ term: "busybox" }))).toMatchObject({
      status: 500,
      message: expect.stringMatching(/^Get "https:\/\/index\.docker\.io\/v1\/search\?q=busybox&n=25": /),
    });
  });

  it("checks limit, filters and term as dockerd, before any request", async () => {
    const cases: [Parameters<typeof searchImages>[0], string][] = [
      [{ term: "busybox", limit: "0" }, "Limit 0 is outside the range of [1, 100]"],
      [{ term: "busybox", limit: "101" }, "Limit 101 is outside the range of [1, 100]"],
      [{ term: "busybox", limit: "x" }, 'strconv.Atoi: parsing "x": invalid syntax'],
      [{ term: "busybox", filters: JSON.stringify({ "is-official": ["maybe"] }) }, "invalid filter 'is-official=[maybe]'"],
      [{ term: "busybox", filters: JSON.stringify({ "is-automated": ["true", "false"] }) }, "invalid filter 'is-automated=[true false]'"],
      [{ term: "busybox", filters: JSON.stringify({ stars: ["many"] }) }, "invalid filter 'stars=many'"],
      [{ term: "busybox", filters: JSON.stringify({ label: ["x"] }) }, "invalid filter 'label'"],
      [{ term: "http://127.0.0.1:5000/busybox" }, 'Invalid repository name (ex: "registry.domain.tld/myrepos")'],
    ];
    for (const [query, message] of cases) expect(await failure(searchImages(query)), message).toEqual({ status: 400, message });
    expect(seen).toEqual([]);
  });
});
