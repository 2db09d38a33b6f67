import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { H3 } from "h3";
import { builtinNetworkId, type Network } from "../docker/networks.ts";
import type { ReplayRunner } from "../runner/replay.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { replayApp, send } from "../testing/replay-app.ts";

let app: H3;
let runner: ReplayRunner;
/** Replays the recorded changes; its tests run in the order they were recorded. */
let changes: H3;
let changesRunner: ReplayRunner;
beforeAll(async () => {
  ({ app, runner } = await replayApp("networks"));
  ({ app: changes, runner: changesRunner } = await replayApp("networks-changes"));
});

async function json<T>(response: Response, status: number): Promise<T> {
  expect(response.status).toBe(status);
  return (await response.json()) as T;
}

describe("networks", () => {
  it("GET /networks lists them in Docker's shape, built-ins with stable ids", async () => {
    const networks = await json<Network[]>(await send(app, "/v1.43/networks"), 200);
    expect(schemaViolations("GET", "/networks", 200, networks)).toEqual([]);
    const byName = Object.fromEntries(networks.map((network) => [network.Name, network]));
    expect(Object.keys(byName).sort()).toEqual(["bridge", "busy", "host", "none", "spare"]);
    expect(byName.spare).toMatchObject({
      Driver: "bridge",
      Scope: "local",
      Internal: false,
      Labels: { tier: "db" },
      IPAM: { Driver: "default", Config: [{ Subnet: expect.stringMatching(/^10\.\d+\.\d+\.0\/24$/), Gateway: expect.stringMatching(/\.1$/) }] },
    });
    expect(byName.spare!.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(byName.host).toMatchObject({ Driver: "host", Id: builtinNetworkId("host") });
    expect(byName.none).toMatchObject({ Driver: "null", Id: builtinNetworkId("none") });
  });

  it("GET /networks?filters=dangling lists custom networks no container is on", async () => {
    const filters = encodeURIComponent('{"dangling":["true"]}');
    const networks = await json<Network[]>(await send(app, `/v1.43/networks?filters=${filters}`), 200);
    expect(networks.map((network) => network.Name)).toEqual(["spare"]);
  });

  it("GET /networks/{id} shows the containers on it", async () => {
    const busy = await json<Network>(await send(app, "/v1.43/networks/busy"), 200);
    expect(schemaViolations("GET", "/networks/{id}", 200, busy)).toEqual([]);
    expect(Object.values(busy.Containers).map((container) => container.Name)).toEqual(["linked"]);
    const subnet = busy.IPAM.Config[0]!.Subnet.replace(/0\/24$/, "");
    expect(Object.values(busy.Containers)[0]!.IPv4Address.startsWith(subnet)).toBe(true);
  });

  it("GET /networks/{id} finds host by the id it is listed with", async () => {
    const host = await json<Network>(await send(app, `/v1.43/networks/${builtinNetworkId("host").slice(0, 12)}`), 200);
    expect(host.Name).toBe("host");
  });

  it("GET /networks/{id} answers 404 for an unknown network", async () => {
    expect(await json(await send(app, "/v1.43/networks/nosuch"), 404)).toEqual({ message: "network nosuch not found" });
  });

  it("POST /networks/create makes one (201), then refuses the same name with 409", async () => {
    // The request as recorded (its subnet was one free on the recording host).
    const recorded = changesRunner.fixtures.find((fixture) => fixture.args[1] === "create")!;
    const subnet = recorded.args.find((arg) => arg.startsWith("--subnet="))!.slice("--subnet=".length);
    const body = { Name: "made", Labels: { made: "here" }, IPAM: { Config: [{ Subnet: subnet, Gateway: subnet.replace(/0\/24$/, "1") }] } };
    const made = await json<{ Id: string; Warning: string }>(
      await send(changes, "/v1.43/networks/create", { method: "POST", body: JSON.stringify(body) }),
      201,
    );
    expect(schemaViolations("POST", "/networks/create", 201, made)).toEqual([]);
    expect(made.Id).toMatch(/^[0-9a-f]{64}$/);
    // An empty Driver, as compose sends it, is the default: the same bridge nerdctl is asked for.
    const again = await send(changes, "/v1.43/networks/create", { method: "POST", body: JSON.stringify({ Name: "made", Driver: "" }) });
    expect(await json(again, 409)).toEqual({ message: "network with name made already exists" });
  });

  it("DELETE /networks/{id}: 204, then dockerd's 403 for one in use", async () => {
    expect((await send(changes, "/v1.43/networks/made", { method: "DELETE" })).status).toBe(204);
    const busy = await send(changes, "/v1.43/networks/busy", { method: "DELETE" });
    expect(await json(busy, 403)).toEqual({ message: "error while removing network: network busy has active endpoints" });
  });

  it("POST /networks/prune removes unused custom networks the filters select", async () => {
    const filters = encodeURIComponent('{"label":["tier=db"]}');
    const body = await json<{ NetworksDeleted: string[] }>(await send(changes, `/v1.43/networks/prune?filters=${filters}`, { method: "POST" }), 200);
    expect(schemaViolations("POST", "/networks/prune", 200, body)).toEqual([]);
    expect(body.NetworksDeleted).toEqual(["spare"]);
  });

  it("announces what it changed, and only that, as dockerd's network events (named by id)", async () => {
    // An `until` already past when the request comes: the buffer is replayed, and no engine stream starts.
    const until = (Date.now() / 1000).toFixed(3);
    await sleep(5);
    const response = await send(changes, `/v1.43/events?since=0&until=${until}`);
    const events = (await response.text()).split("\n").filter(Boolean).map((line) => JSON.parse(line) as { Type: string; Action: string; Actor: object });
    const recorded = (args: string[]) => changesRunner.fixtures.find((fixture) => fixture.args.join(" ").startsWith(args.join(" ")))!;
    const made = recorded(["network", "create", "--driver", "bridge", "--subnet"]).stdout.trim();
    const spare = (JSON.parse(recorded(["network", "inspect", "--mode", "native"]).stdout) as { CNI: { name: string }; NerdctlID: string }[])
      .find((network) => network.CNI.name === "spare")!.NerdctlID;
    expect(events.map(({ Type, Action, Actor }) => ({ Type, Action, Actor }))).toEqual([
      { Type: "network", Action: "create", Actor: { ID: made, Attributes: { name: "made", type: "bridge" } } },
      { Type: "network", Action: "destroy", Actor: { ID: made, Attributes: { name: "made", type: "bridge" } } },
      { Type: "network", Action: "destroy", Actor: { ID: spare, Attributes: { name: "spare", type: "bridge" } } },
    ]);
  });

  it.each(["bridge", "host", "none"])("DELETE /networks/%s is refused as a pre-defined network, before nerdctl runs", async (name) => {
    const before = changesRunner.calls.length;
    expect(await json(await send(changes, `/v1.43/networks/${name}`, { method: "DELETE" }), 403)).toEqual({
      message: `${name} is a pre-defined network and cannot be removed`,
    });
    expect(changesRunner.calls.length).toBe(before);
  });

  it.each([
    [{ Name: "x", Driver: "overlay" }, /not available/],
    [{ Name: "--internal" }, /invalid network name/],
    [{ Name: "x", IPAM: { Config: [{ Subnet: "10.0.0.0/8; rm" }] } }, /invalid subnet/],
    [{ Name: "x", Options: { "--opt": "x" } }, /invalid option/],
    [{}, /network name is required/],
  ])("POST /networks/create refuses %j with a 400 before nerdctl runs", async (body, message) => {
    const before = runner.calls.length;
    const response = await send(app, "/networks/create", { method: "POST", body: JSON.stringify(body) });
    expect((await json<{ message: string }>(response, 400)).message).toMatch(message);
    expect(runner.calls.length).toBe(before);
  });

  it.each(["connect", "disconnect"])("POST /networks/{id}/%s says why it cannot be done", async (operation) => {
    const response = await send(app, `/v1.43/networks/busy/${operation}`, { method: "POST", body: "{}" });
    expect((await json<{ message: string }>(response, 501)).message).toMatch(/nerdctl 2\.3 cannot attach/);
  });
});
