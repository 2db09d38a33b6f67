import { beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import type { ContainerInspect, ContainerSummary } from "../docker/container-types.ts";
import type { ReplayRunner } from "../runner/replay.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { replayApp, send } from "../testing/replay-app.ts";

let app: H3;
let runner: ReplayRunner;
beforeAll(async () => {
  ({ app, runner } = await replayApp("containers"));
});

async function list(query = ""): Promise<ContainerSummary[]> {
  const response = await send(app, `/v1.43/containers/json${query}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as ContainerSummary[];
  expect(schemaViolations("GET", "/containers/json", 200, body)).toEqual([]);
  return body;
}

describe("GET /containers/json", () => {
  it("lists running containers by default, with Docker's names and status words", async () => {
    const running = await list();
    expect(running.map((c) => c.Names[0]).sort()).toEqual(["/ported", "/web"]);
    for (const container of running) {
      expect(container.State).toBe("running");
      expect(container.Status).toMatch(/^Up (Less than a second|\d+ seconds|About a minute|\d+ minutes|About an hour|\d+ hours|\d+ days|\d+ weeks|\d+ months|\d+ years)$/);
    }
  });

  it("lists every container with all=1, newest first", async () => {
    const all = await list("?all=1");
    expect(all.map((c) => c.Names[0]).sort()).toEqual(["/done", "/fresh", "/ported", "/web"]);
    const created = all.map((c) => c.Created);
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    const byName = Object.fromEntries(all.map((c) => [c.Names[0], c]));
    expect(byName["/done"]).toMatchObject({ State: "exited", Status: expect.stringMatching(/^Exited \(0\) .+ ago$/) });
    expect(byName["/fresh"]).toMatchObject({ State: "created", Status: "Created" });
  });

  it("shows image, command, ports, user labels and mounts as docker ps does", async () => {
    const ported = (await list()).find((c) => c.Names[0] === "/ported")!;
    expect(ported).toMatchObject({
      Image: "busybox:latest",
      ImageID: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      Command: "sleep 3600",
      Ports: [{ IP: "127.0.0.1", PrivatePort: 80, PublicPort: expect.any(Number), Type: "tcp" }],
      Labels: { app: "demo" },
      Mounts: [expect.objectContaining({ Type: "volume", Name: "data", Destination: "/data", Driver: "local", RW: true })],
    });
    expect(Object.keys(ported.NetworkSettings.Networks)).toEqual(["bridge"]);
  });

  it("names each container's network by the engine's id for it, as inspect does (compose compares them)", async () => {
    const recorded = runner.fixtures.find((fixture) => fixture.args.join(" ") === "network inspect --mode native -- bridge");
    const bridgeId = (JSON.parse(recorded!.stdout) as { NerdctlID: string }[])[0]!.NerdctlID;
    expect(bridgeId).toMatch(/^[0-9a-f]{64}$/);
    for (const container of await list("?all=1")) expect(container.NetworkSettings.Networks.bridge?.NetworkID).toBe(bridgeId);
    const response = await send(app, "/v1.43/containers/ported/json");
    const ported = (await response.json()) as ContainerInspect;
    expect(ported.NetworkSettings.Networks.bridge?.NetworkID).toBe(bridgeId);
  });

  it("applies limit to the newest containers, running or not", async () => {
    expect(await list("?limit=1")).toHaveLength(1);
  });

  it("needs four engine calls whatever the number of containers", async () => {
    const before = runner.calls.length;
    await list("?all=true");
    expect(runner.calls.length - before).toBe(4);
  });

  it("refuses a limit that is not a number", async () => {
    const response = await send(app, "/containers/json?limit=lots");
    expect(response.status).toBe(400);
  });
});

describe("GET /containers/{id}/json", () => {
  async function inspect(name: string): Promise<ContainerInspect> {
    const response = await send(app, `/v1.43/containers/${name}/json`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as ContainerInspect;
    expect(schemaViolations("GET", "/containers/{id}/json", 200, body)).toEqual([]);
    return body;
  }

  it("gives a running container's state and config in Docker's shape", async () => {
    const web = await inspect("web");
    expect(web.Name).toBe("/web");
    expect(web.State).toMatchObject({ Status: "running", Running: true, Paused: false, Dead: false, OOMKilled: false });
    expect(web.State.FinishedAt).toBe("0001-01-01T00:00:00Z");
    expect(web.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(web.Config).toMatchObject({ Image: "busybox:latest", Cmd: ["sleep", "3600"], Entrypoint: null, Labels: {} });
  });

  it("gives an exited container's exit code and times", async () => {
    const done = await inspect("done");
    expect(done.State).toMatchObject({ Status: "exited", Running: false, ExitCode: 0 });
    expect(done.State.FinishedAt).not.toBe("0001-01-01T00:00:00Z");
  });

  it("gives a never-started container Docker's zero times", async () => {
    const fresh = await inspect("fresh");
    expect(fresh.State).toMatchObject({ Status: "created", StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z" });
  });

  it("answers 404 with Docker's words for an unknown container", async () => {
    const response = await send(app, "/v1.43/containers/nosuch/json");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: "No such container: nosuch" });
  });

  it.each([
    ["--help", "--help"],
    ["-v", "-v"],
    ["a NUL byte", "web\0"],
    ["a space", "a b"],
    ["a 4 KiB name", "x".repeat(4096)],
  ])("refuses %s as a name before nerdctl runs", async (_label, name) => {
    const before = runner.calls.length;
    const response = await send(app, `/v1.43/containers/${encodeURIComponent(name)}/json`);
    expect(response.status).toBe(400);
    expect(runner.calls.length).toBe(before);
  });
});

describe("GET /containers/{id}/top", () => {
  it("lists a running container's processes with ps's titles", async () => {
    const response = await send(app, "/v1.43/containers/web/top");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { Titles: string[]; Processes: string[][] };
    expect(schemaViolations("GET", "/containers/{id}/top", 200, body)).toEqual([]);
    expect(body.Titles).toEqual(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
    expect(body.Processes).toHaveLength(1);
    expect(body.Processes[0]!.at(-1)).toBe("sleep 3600");
  });

  it("passes ps_args to ps", async () => {
    const response = await send(app, "/v1.43/containers/web/top?ps_args=-o%20pid,comm");
    const body = (await response.json()) as { Titles: string[]; Processes: string[][] };
    expect(body.Titles).toEqual(["PID", "COMMAND"]);
    expect(body.Processes[0]![1]).toBe("sleep");
  });

  it("answers 409 for a container that is not running, as dockerd does", async () => {
    const response = await send(app, "/v1.43/containers/done/top");
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ message: "Container done is not running" });
  });

  it("refuses ps_args that are not ps options", async () => {
    const before = runner.calls.length;
    const response = await send(app, `/v1.43/containers/web/top?ps_args=${encodeURIComponent("aux; rm -rf /")}`);
    expect(response.status).toBe(400);
    expect(runner.calls.length).toBe(before);
  });
});

describe("GET /containers/json filters", () => {
  const names = async (filters: object, all = true) => {
    const response = await send(app, `/v1.43/containers/json?all=${all ? 1 : 0}&filters=${encodeURIComponent(JSON.stringify(filters))}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as ContainerSummary[]).map((c) => c.Names[0]).sort();
  };

  it.each([
    [{ status: ["exited"] }, ["/done"]],
    [{ status: ["created"] }, ["/fresh"]],
    [{ name: ["^/w"] }, ["/web"]],
    [{ label: ["app=demo"] }, ["/ported"]],
    [{ label: ["app"] }, ["/ported"]],
    [{ exited: ["0"] }, ["/done"]],
    [{ ancestor: ["busybox"] }, ["/done", "/fresh", "/ported", "/web"]],
    [{ ancestor: ["alpine"] }, []],
    [{ volume: ["data"] }, ["/ported"]],
    [{ network: ["bridge"] }, ["/done", "/fresh", "/ported", "/web"]],
  ])("%j selects %j", async (filters, expected) => {
    expect(await names(filters)).toEqual(expected);
  });

  it("shows stopped containers for a status filter even without all", async () => {
    expect(await names({ status: ["exited"] }, false)).toEqual(["/done"]);
  });

  it("orders by creation for before and since", async () => {
    const all = await names({});
    const since = await names({ since: ["web"] });
    const before = await names({ before: ["web"] });
    expect([...since, ...before, "/web"].sort()).toEqual(all);
  });

  it.each([
    ['{"bogus":["x"]}', "invalid filter 'bogus'"],
    ['{"status":["sleeping"]}', "invalid filter 'status=sleeping'"],
    ["not json", "invalid filter"],
  ])("refuses %s with a 400", async (filters, message) => {
    const response = await send(app, `/v1.43/containers/json?filters=${encodeURIComponent(filters)}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message });
  });
});
