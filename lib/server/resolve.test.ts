import { describe, expect, it } from "vitest";
import { DOCKER_API_OPERATIONS } from "../docker/api-operations.ts";
import { parseTemplate, RouteTable, type RouteEntry } from "./resolve.ts";

function route(method: string, template: string, layer = "1.43"): RouteEntry<string> {
  return { method, template: parseTemplate(template), layer, handler: `${layer} ${method} ${template}` };
}

const table = new RouteTable(
  [
    route("GET", "/images/json"),
    route("GET", "/images/{name}/json"),
    route("GET", "/images/{name}/history"),
    route("DELETE", "/images/{name}"),
    route("GET", "/images/get"),
    route("GET", "/images/{name}/get"),
    route("GET", "/containers/{id}/json"),
    route("GET", "/containers/{id}/json", "1.45"),
    route("GET", "/_ping"),
  ],
  DOCKER_API_OPERATIONS,
);

function resolved(method: string, path: string, version = "1.43") {
  const result = table.resolve(method, path, version);
  return result.kind === "route" ? { handler: result.route.handler, params: result.params } : result;
}

describe("RouteTable.resolve", () => {
  it("resolves image names with slashes and colons, unescaped", () => {
    expect(resolved("GET", "/images/registry.k8s.io/pause:3.8/json")).toEqual({
      handler: "1.43 GET /images/{name}/json",
      params: { name: "registry.k8s.io/pause:3.8" },
    });
  });

  it("decodes escaped names the same way", () => {
    expect(resolved("GET", "/images/registry.k8s.io%2Fpause%3A3.8/json")).toMatchObject({
      params: { name: "registry.k8s.io/pause:3.8" },
    });
  });

  it("prefers a static path over a parameter", () => {
    expect(resolved("GET", "/images/json")).toMatchObject({ handler: "1.43 GET /images/json", params: {} });
    expect(resolved("GET", "/images/get")).toMatchObject({ handler: "1.43 GET /images/get" });
  });

  it("takes the name before the known suffix (longest known suffix)", () => {
    expect(resolved("GET", "/images/example.com/json/json")).toMatchObject({ params: { name: "example.com/json" } });
    expect(resolved("DELETE", "/images/example.com:5000/team/app:v1")).toMatchObject({
      handler: "1.43 DELETE /images/{name}",
      params: { name: "example.com:5000/team/app:v1" },
    });
  });

  it("serves older versions from the oldest layer, newer ones from the nearest layer at or below", () => {
    expect(resolved("GET", "/containers/abc/json", "1.24")).toMatchObject({ handler: "1.43 GET /containers/{id}/json" });
    expect(resolved("GET", "/containers/abc/json", "1.44")).toMatchObject({ handler: "1.43 GET /containers/{id}/json" });
    expect(resolved("GET", "/containers/abc/json", "1.45")).toMatchObject({ handler: "1.45 GET /containers/{id}/json" });
    expect(resolved("GET", "/containers/abc/json", "1.50")).toMatchObject({ handler: "1.45 GET /containers/{id}/json" });
  });

  it("tells an unimplemented Docker operation from an unknown path", () => {
    expect(resolved("POST", "/containers/abc/start")).toEqual({
      kind: "not-implemented",
      operation: "POST /containers/{id}/start",
    });
    expect(resolved("POST", "/images/registry.k8s.io/pause:3.8/push")).toEqual({
      kind: "not-implemented",
      operation: "POST /images/{name}/push",
    });
    expect(resolved("GET", "/no/such/thing")).toEqual({ kind: "not-found" });
    expect(resolved("PUT", "/images/json")).toEqual({ kind: "method-not-allowed" });
  });

  it("never lets an empty segment stand for a name", () => {
    expect(resolved("GET", "/images//json")).toEqual({ kind: "not-found" });
  });
});

describe("DOCKER_API_OPERATIONS", () => {
  it("has one parameter at most per path, as the resolver requires", () => {
    for (const operation of DOCKER_API_OPERATIONS) expect(() => parseTemplate(operation.split(" ")[1]!)).not.toThrow();
  });
});
