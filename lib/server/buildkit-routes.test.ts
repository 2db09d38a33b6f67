import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as connectHttp2 } from "node:http2";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { H3 } from "h3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildkitLocator } from "../buildkit/locator.ts";
import { frameMessage, MessageSplitter } from "../buildkit/grpc-messages.ts";
import { grpcRequestHeaders } from "../buildkit/http2-relay.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { ReplayRunner } from "../runner/replay.ts";
import { startFakeBuildkitd, type FakeBuildkitd } from "../testing/fake-buildkitd.ts";
import { send, TEST_FACTS } from "../testing/replay-app.ts";
import { createDaemonApp } from "./app.ts";
import { listenOn, type Listening } from "./listen.ts";
import { loadRouteFiles } from "./route-files.ts";

let work: string;
let buildkitd: FakeBuildkitd;
let app: H3;
let without: H3;
let listening: Listening;

async function appWith(buildkitHost: string): Promise<H3> {
  return createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services: { nerdctl: new Nerdctl(new ReplayRunner([])), facts: () => TEST_FACTS, buildkit: new BuildkitLocator({ buildkitHost, runDir: work }) },
    daemonVersion: TEST_FACTS.version,
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-buildkit-routes-"));
  buildkitd = await startFakeBuildkitd(join(work, "buildkitd.sock"), "default");
  app = await appWith(`unix://${buildkitd.socket}`);
  without = await appWith(`unix://${join(work, "nobody.sock")}`);
  listening = await listenOn(`unix://${join(work, "d.sock")}`, app);
});

afterAll(async () => {
  listening.destroyConnections();
  await listening.stopAccepting();
  await buildkitd.close();
  await rm(work, { recursive: true, force: true });
});

describe("Builder-Version in GET and HEAD /_ping", () => {
  it("is 2 where a buildkitd builds into the request's namespace", async () => {
    expect((await send(app, "/_ping")).headers.get("builder-version")).toBe("2");
    expect((await send(app, "/v1.41/_ping", { method: "HEAD" })).headers.get("builder-version")).toBe("2");
  });

  it("is 1 for a namespace the buildkitd does not build into, and with no buildkitd", async () => {
    const k8s = await send(app, "/_ping", { headers: { "X-Containerd-Namespace": "k8s.io" } });
    expect(k8s.headers.get("builder-version")).toBe("1");
    expect(await k8s.text()).toBe("OK");
    expect((await send(without, "/_ping", { method: "HEAD" })).headers.get("builder-version")).toBe("1");
  });
});

/** A raw client on the daemon's socket, asking for h2c as buildx's docker driver does; the answer's head. */
async function upgrade(path: string, headers: string[] = []): Promise<{ socket: Socket; head: string }> {
  const socket = connect(join(work, "d.sock"));
  socket.write([`POST ${path} HTTP/1.1`, "Host: ", "Connection: Upgrade", "Upgrade: h2c", ...headers, "", ""].join("\r\n"));
  let received = Buffer.alloc(0);
  while (!received.includes("\r\n\r\n")) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    received = Buffer.concat([received, chunk]);
  }
  socket.pause();
  const end = received.indexOf("\r\n\r\n") + 4;
  if (end < received.length) socket.unshift(received.subarray(end));
  return { socket, head: received.subarray(0, end).toString("latin1") };
}

describe("POST /grpc", () => {
  it("switches to h2c and relays gRPC calls to buildkitd", async () => {
    const { socket, head } = await upgrade("/grpc");
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(head).toMatch(/\r\nUpgrade: h2c\r\n/);
    const session = connectHttp2("http://localhost", { createConnection: () => socket });
    const call = session.request(grpcRequestHeaders("/moby.buildkit.v1.Control/ListWorkers"));
    call.end(frameMessage(Buffer.alloc(0)));
    const messages: Buffer[] = [];
    let status: string | undefined;
    call.on("trailers", (trailers) => (status = String(trailers["grpc-status"])));
    for await (const message of call.pipe(new MessageSplitter(1 << 20)) as AsyncIterable<Buffer>) messages.push(message);
    session.close();
    expect(status).toBe("0");
    expect(messages[0]!.toString("latin1")).toContain("org.mobyproject.buildkit.worker.containerd.namespace");
  });

  it("refuses, in Docker's JSON, a namespace no buildkitd builds into", async () => {
    const { socket, head } = await upgrade("/grpc", ["X-Containerd-Namespace: k8s.io"]);
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    const response = await send(app, "/grpc", { method: "POST", headers: { "X-Containerd-Namespace": "k8s.io" } });
    // Without an upgrade the protocol is checked first, as dockerd does.
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: "no upgrade proto in request" });
  });

  it("refuses another protocol than h2c before anything runs", async () => {
    const socket = connect(join(work, "d.sock"));
    socket.write("POST /grpc HTTP/1.1\r\nHost: \r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(socket, "end");
    const text = Buffer.concat(chunks).toString("utf8");
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('{"message":"protocol tcp not supported"}');
  });
});

describe("POST /session", () => {
  it("hands the session to buildkitd as Control.Session, with its X-Docker-Expose-Session headers", async () => {
    const { socket, head } = await upgrade("/session", [
      "X-Docker-Expose-Session-Uuid: abc",
      "X-Docker-Expose-Session-Grpc-Method: /a.A/One",
      "X-Docker-Expose-Session-Grpc-Method: /b.B/Two",
      "User-Agent: not-for-buildkitd",
    ]);
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    socket.end("session bytes");
    await once(socket, "end");
    socket.destroy();
    expect(Buffer.concat(chunks).toString()).toBe("SESSION BYTES");
    const call = buildkitd.calls.find((call) => call.path === "/moby.buildkit.v1.Control/Session")!;
    const sent = (name: string) => call.raw.flatMap((value, i) => (i % 2 === 0 && value === name ? [call.raw[i + 1]] : []));
    expect(sent("x-docker-expose-session-uuid")).toEqual(["abc"]);
    expect(sent("x-docker-expose-session-grpc-method")).toEqual(["/a.A/One", "/b.B/Two"]);
    expect(sent("user-agent")).not.toContain("not-for-buildkitd");
  });
});
