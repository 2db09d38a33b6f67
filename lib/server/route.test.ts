import { H3 } from "h3";
import { describe, expect, it } from "vitest";
import { errorResponseOf } from "./error-response.ts";
import { defineRoute, JSON_BODY_LIMIT, type RouteRequest } from "./route.ts";

/** Runs one route over a request and answers what the client would get. */
async function call(read: (request: RouteRequest) => unknown, path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const app = new H3({ silent: true, onError: (error) => Response.json({ message: errorResponseOf(error).message }, { status: errorResponseOf(error).status }) });
  app.all("/**", defineRoute(async (request) => ({ read: await read(request) })));
  const response = await app.fetch(new Request(`http://localhost${path}`, init));
  return { status: response.status, body: await response.json() };
}

describe("RouteRequest", () => {
  it("reads Docker's flags: 1/true/yes set, 0/false/no/empty not, absent the default", async () => {
    const flags = (request: RouteRequest) => ["a", "b", "c", "d", "e", "f", "g"].map((name) => request.flag(name, name === "g"));
    expect((await call(flags, "/x?a=1&b=true&c=yes&d=0&e=false&f=")).body).toEqual({ read: [true, true, true, false, false, false, true] });
  });

  it("takes the first of a repeated parameter, as dockerd does", async () => {
    expect((await call((request) => request.text("tag"), "/x?tag=one&tag=two")).body).toEqual({ read: "one" });
  });

  it("refuses a number that is not an integer with a 400", async () => {
    expect(await call((request) => request.integer("limit"), "/x?limit=1.5")).toEqual({ status: 400, body: { message: "invalid limit: 1.5" } });
  });

  it("parses a JSON body, and refuses broken JSON with a 400", async () => {
    const body = (text: string) => ({ method: "POST", body: text, headers: { "Content-Type": "application/json" } });
    expect((await call((request) => request.json(), "/x", body('{"Name":"a"}'))).body).toEqual({ read: { Name: "a" } });
    expect((await call((request) => request.json(), "/x", body("{nope"))).status).toBe(400);
  });

  it("refuses a JSON body over the limit with a 413, whether it says its length or not", async () => {
    const big = JSON.stringify({ Labels: { a: "x".repeat(JSON_BODY_LIMIT) } });
    const refused = { status: 413, body: { message: `request body larger than ${JSON_BODY_LIMIT} bytes` } };
    expect(await call((request) => request.json(), "/x", { method: "POST", body: big })).toEqual(refused);
    // Chunked: no Content-Length to refuse it by, so it is read up to the limit and no further.
    const chunked = new Blob([big]).stream();
    expect(await call((request) => request.json(), "/x", { method: "POST", body: chunked, duplex: "half" } as RequestInit)).toEqual(refused);
  });

  it("reads a JSON body just under the limit", async () => {
    const text = JSON.stringify({ a: "x".repeat(JSON_BODY_LIMIT - 16) });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(JSON_BODY_LIMIT);
    expect((await call(async (request) => ((await request.json()) as { a: string }).a.length, "/x", { method: "POST", body: text })).body).toEqual({
      read: JSON_BODY_LIMIT - 16,
    });
  });
});
