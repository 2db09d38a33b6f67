/** The pure parts of the registry client: challenges, server addresses, dockerd's error wording. */
import { describe, expect, it } from "vitest";
import { parseChallenges } from "./challenge.ts";
import { isLoopbackHost, isRegistryHost, loginRegistryHost, registryApiHost, registryBaseUrl } from "./endpoint.ts";
import { networkReason, registryResponseError, requestError } from "./errors.ts";
import { splitSearchTerm } from "./search.ts";
import { statusOf } from "../server/error-response.ts";

describe("parseChallenges", () => {
  it("reads Docker Hub's Bearer challenge and a Basic one", () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
      { scheme: "bearer", parameters: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } },
    ]);
    expect(parseChallenges('Basic realm="nerdctld-e2e"')).toEqual([{ scheme: "basic", parameters: { realm: "nerdctld-e2e" } }]);
  });

  it("reads several challenges, unquoted and escaped values, and skips what it cannot read", () => {
    expect(parseChallenges('Negotiate abc==, Basic realm="a \\"b\\"", Bearer realm=https://t/x , error=invalid_token')).toEqual([
      { scheme: "negotiate", parameters: {} },
      { scheme: "basic", parameters: { realm: 'a "b"' } },
      { scheme: "bearer", parameters: { realm: "https://t/x", error: "invalid_token" } },
    ]);
    expect(parseChallenges(null)).toEqual([]);
    expect(parseChallenges("")).toEqual([]);
    expect(parseChallenges("=junk")).toEqual([]);
  });
});

describe("server addresses", () => {
  it("normalises docker login's server address as dockerd does", () => {
    expect(loginRegistryHost(undefined)).toBe("registry-1.docker.io");
    expect(loginRegistryHost("https://index.docker.io/v1/")).toBe("registry-1.docker.io");
    expect(loginRegistryHost("docker.io")).toBe("registry-1.docker.io");
    expect(loginRegistryHost("127.0.0.1:5000")).toBe("127.0.0.1:5000");
    expect(loginRegistryHost("http://127.0.0.1:5000/v1/")).toBe("127.0.0.1:5000");
    expect(loginRegistryHost("https://Registry.Example.com")).toBe("registry.example.com");
    expect(loginRegistryHost("[::1]:5000")).toBe("[::1]:5000");
  });

  it("refuses addresses that are not a registry host", () => {
    for (const bad of ["https://a b/", "https://user:pw@registry.example.com", "ftp://x", "-x-:5000", "host:99999"]) {
      expect(() => loginRegistryHost(bad), bad).toThrow(/unable to parse server address/);
    }
  });

  it("uses plain HTTP for loopback registries only", () => {
    expect(registryBaseUrl("127.0.0.1:5000")).toBe("http://127.0.0.1:5000");
    expect(registryBaseUrl("127.1.2.3:5000")).toBe("http://127.1.2.3:5000");
    expect(registryBaseUrl("localhost:5000")).toBe("http://localhost:5000");
    expect(registryBaseUrl("[::1]:5000")).toBe("http://[::1]:5000");
    expect(registryBaseUrl("registry.example.com")).toBe("https://registry.example.com");
    expect(registryBaseUrl("10.0.0.1:5000")).toBe("https://10.0.0.1:5000");
    expect(isLoopbackHost("127.0.0.1.example.com")).toBe(false);
    expect(registryApiHost("docker.io")).toBe("registry-1.docker.io");
    expect(isRegistryHost("127.0.0.1:5000")).toBe(true);
    expect(isRegistryHost("127.0.0.1:0")).toBe(false);
  });

  it("splits search terms as dockerd does", () => {
    expect(splitSearchTerm("busybox")).toEqual({ index: "docker.io", remote: "busybox" });
    expect(splitSearchTerm("someone/tool")).toEqual({ index: "docker.io", remote: "someone/tool" });
    expect(splitSearchTerm("127.0.0.1:5000/busy")).toEqual({ index: "127.0.0.1:5000", remote: "busy" });
    expect(splitSearchTerm("localhost/a/b")).toEqual({ index: "localhost", remote: "a/b" });
  });
});

describe("dockerd's error wording", () => {
  const headers = (entries: Record<string, string> = {}) => new Headers(entries);

  it("reads registry errcode bodies with their status", () => {
    const unknown = registryResponseError(404, headers(), JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "x" } }] }));
    expect([statusOf(unknown), unknown.message]).toEqual([404, "manifest unknown: manifest unknown"]);
    const denied = registryResponseError(401, headers(), JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
    expect([statusOf(denied), denied.message]).toEqual([401, "unauthorized: authentication required"]);
    const two = registryResponseError(400, headers(), JSON.stringify({ errors: [{ code: "NAME_INVALID", message: "a" }, { code: "WEIRD", message: "b" }] }));
    expect([statusOf(two), two.message]).toEqual([400, "errors:\nname invalid: a\nunknown: b\n"]);
  });

  it("reads token server answers (details, OAuth challenges, empty 401s)", () => {
    const hub = registryResponseError(401, headers(), JSON.stringify({ details: "incorrect username or password" }));
    expect([statusOf(hub), hub.message]).toEqual([401, "unauthorized: incorrect username or password"]);
    const scope = registryResponseError(403, headers({ "www-authenticate": 'Bearer realm="x",error="insufficient_scope"' }), "");
    expect([statusOf(scope), scope.message]).toEqual([403, "denied: requested access to the resource is denied"]);
    const empty = registryResponseError(401, headers(), "");
    expect([statusOf(empty), empty.message]).toEqual([401, "unauthorized: authentication required"]);
    const server = registryResponseError(503, headers(), "down");
    expect([statusOf(server), server.message]).toEqual([500, "received unexpected HTTP status: 503 Service Unavailable"]);
  });

  it("keeps remote text to one bounded line", () => {
    const long = registryResponseError(404, headers(), JSON.stringify({ errors: [{ code: "NAME_UNKNOWN", message: `x\u0007${"y".repeat(1000)}` }] }));
    expect(long.message.length).toBeLessThan(340);
    expect(long.message).not.toContain("\u0007");
  });

  it("words network failures as Go's url.Error does", () => {
    const failed = (cause: object) => Object.assign(new TypeError("fetch failed"), { cause });
    expect(requestError("GET", "http://127.0.0.1:5000/v2/", networkReason(failed({ code: "ECONNREFUSED", address: "127.0.0.1", port: 5000 }), "127.0.0.1:5000", 15_000)).message).toBe(
      'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
    );
    expect(networkReason(failed({ code: "ENOTFOUND", hostname: "registry-1.docker.io" }), "registry-1.docker.io", 15_000)).toBe(
      "dial tcp: lookup registry-1.docker.io: no such host",
    );
    expect(networkReason(new DOMException("timed out", "TimeoutError"), "h", 15_000)).toMatch(/^context deadline exceeded/);
  });
});
