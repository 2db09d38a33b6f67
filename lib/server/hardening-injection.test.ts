/**
 * Hostile values in every parameter that reaches argv or a host path, sent to
 * the daemon's app over an engine that goes along with anything: no value
 * becomes a flag, no path outside the daemon's own directories is touched, no
 * request fails inside the daemon (a 500 here can only be the daemon's: this
 * engine never fails), and the app never throws. A short profile by default;
 * NERDCTLD_HARDENING_FULL=1 sends the full count and writes its section of
 * e2e/reports/hardening.md.
 */
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { H3 } from "h3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { packTar } from "../archive/tar-writer.ts";
import { Nerdctl } from "../nerdctl/client.ts";
import { ROUTES_DIR } from "../package-info.ts";
import { readFixtures } from "../runner/fixture.ts";
import type { Command, RunResult, RunningCommand } from "../runner/types.ts";
import { ContainerStdio } from "../service/container-stdio.ts";
import { EventHub } from "../service/events/hub.ts";
import { ExecRegistry } from "../service/exec-registry.ts";
import { HealthChecks } from "../service/health.ts";
import { StatsSamplers } from "../service/stats-samplers.ts";
import { ObligingRunner } from "../testing/obliging-runner.ts";
import { FIXTURES_DIR, TEST_FACTS } from "../testing/replay-app.ts";
import { HARDENING_REPORT, writeReportSection } from "../testing/report-section.ts";
import { fsAccesses } from "../testing/watched-fs.ts";
import { createDaemonApp } from "./app.ts";
import { loadRouteFiles } from "./route-files.ts";

vi.mock("node:fs/promises", async (original) => {
  const { watched } = await import("../testing/watched-fs.ts");
  const fs = await vi.importActual<typeof import("node:fs")>("node:fs");
  return watched(await original<object>(), fs.readlinkSync);
});
vi.mock("node:fs", async (original) => {
  const { watched } = await import("../testing/watched-fs.ts");
  const fs = await vi.importActual<typeof import("node:fs")>("node:fs");
  return watched(await original<object>(), fs.readlinkSync);
});

const FULL = process.env.NERDCTLD_HARDENING_FULL === "1";
/** The bound of the full profile: hostile values sent. */
const FULL_BOUND = 10_000;

/** Marks the values the test made: a flag word holding it came from a client. */
const MARK = "zq";

/** The hostile cores; each is sent plain and, in the full profile, decorated. */
const CORES: readonly string[] = [
  "",
  "-",
  "--",
  `-${MARK}`,
  `--${MARK}`,
  `--${MARK}=y`,
  `-v/:/${MARK}`,
  "--privileged",
  "--rm",
  "-it",
  `--volume=/:/${MARK}`,
  "--net=host",
  `-e${MARK}=1`,
  `a\0${MARK}`,
  `\0--${MARK}`,
  `${MARK}\nb`,
  `\n--${MARK}=y`,
  `${MARK}\r\n-x`,
  "..",
  ".",
  "../",
  `../../../../etc/${MARK}`,
  `a/../../${MARK}`,
  `/root/etc/${MARK}`,
  "up/etc/shadow",
  "/",
  "/etc/shadow",
  `/tmp/${MARK}`,
  "/proc/self/environ",
  "/var/run/docker.sock",
  "~root",
  "ünïcødé",
  "名前",
  "\u202e-x",
  `\ufeff--${MARK}`,
  `\u2010\u2010${MARK}`,
  "😀",
  "e\u0301",
  "$(id)",
  "`id`",
  "a;b",
  "a|b",
  "*",
  "{{json .}}",
  "%s%n",
  "a=b=c",
  "a:b:c",
  "a b",
  "A".repeat(65_536),
  `-${MARK}${"x".repeat(65_533)}`,
  "x/".repeat(32_768),
];
const DECORATIONS: readonly ((core: string) => string)[] = [(core) => core, (core) => `${core}:latest`, (core) => `${MARK}=${core}`];
const SHORT_CORES = ["--", `--${MARK}=y`, `a\0${MARK}`, `../../../../etc/${MARK}`, `-${MARK}${"x".repeat(65_533)}`];

function hostileValues(): string[] {
  if (!FULL) return SHORT_CORES;
  return [...new Set(CORES.flatMap((core) => DECORATIONS.map((decorate) => decorate(core))))];
}

interface Probe {
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  json?: unknown;
  body?: Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
}

/** A slot: where a value goes in one request. */
interface Slot {
  name: string;
  probe(value: string): Probe;
  /** A value a client would send there (default "made"). */
  control?: () => string;
  /** The answer's body waits for the container to exit: the client leaves once the status is in. */
  leaves?: boolean;
}

const ID = "box";
const seg = (value: string) => encodeURIComponent(value).replace(/\./g, "%2E");
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const tar = async (entries: Parameters<typeof packTar>[0]) => {
  const chunks: Buffer[] = [];
  for await (const chunk of packTar(entries)) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
};
const file = (name: string, content: string) => ({ type: "file" as const, name, mode: 0o644, content: Buffer.from(content) });
const CONTEXT = await tar([file("Dockerfile", "FROM busybox\n")]);
const UPLOAD = await tar([file("upload.txt", "hello\n")]);

const query = (name: string, method: string, path: string, key: string, extra: Record<string, string> = {}, body?: Uint8Array<ArrayBuffer>): Slot => ({
  name,
  probe: (value) => ({ method, path, query: { ...extra, [key]: value }, body }),
});
const param = (name: string, method: string, path: (value: string) => string, extra: Partial<Probe> = {}): Slot => ({
  name,
  probe: (value) => ({ method, path: path(seg(value)), ...extra }),
});
const body = (name: string, method: string, path: string, make: (value: string) => unknown, extra: Record<string, string> = {}): Slot => ({
  name,
  probe: (value) => ({ method, path, json: make(value), query: extra }),
});
/** A filter's control value, where "made" is not one. */
const FILTER_CONTROLS: Record<string, string> = { dangling: "true", until: "1h", status: "running", type: "custom", all: "true", before: "busybox", since: "busybox" };
const filters = (name: string, method: string, path: string, keys: string[]): Slot[] => [
  given('{"label":["a"]}', query(`${name} filters (raw)`, method, path, "filters")),
  ...keys.map((key) => ({
    name: `${name} filters ${key}`,
    probe: (value: string) => ({ method, path, query: { filters: JSON.stringify({ [key]: [value] }) } }),
    control: () => FILTER_CONTROLS[key] ?? "made",
  })),
  given("label", { name: `${name} filters (key)`, probe: (value: string) => ({ method, path, query: { filters: JSON.stringify({ [value]: ["x"] }) } }) }),
];
const create = (field: string, make: (value: string) => Record<string, unknown>): Slot =>
  body(`container create ${field}`, "POST", "/containers/create", (value) => ({ Image: "busybox", ...make(value) }), { name: "made" });
const exec = (field: string, make: (value: string) => Record<string, unknown>): Slot =>
  body(`exec create ${field}`, "POST", `/containers/${ID}/exec`, (value) => ({ Cmd: ["true"], ...make(value) }));
const build = (key: string, wrap: (value: string) => string = (value) => value): Slot => ({
  name: `build ${key}`,
  probe: (value) => ({ method: "POST", path: "/build", query: { t: "made", [key]: wrap(value) }, body: CONTEXT, headers: { "Content-Type": "application/x-tar" } }),
});

/** The slot with a value a client would send there. */
const given = (control: string, slot: Slot): Slot => ({ ...slot, control: () => control });

/** The exec instance the exec endpoints' controls name, made before the probes run. */
let execId = "";

const SLOTS: Slot[] = [
  { name: "namespace header", probe: (value) => ({ method: "GET", path: "/containers/json", headers: { "X-Containerd-Namespace": value } }) },
  // Containers by id, and what their endpoints take besides.
  ...["json", "top", "changes", "export", "stats"].map((what) =>
    param(`container ${what} id`, "GET", (id) => `/containers/${id}/${what}`, what === "stats" ? { query: { stream: "0" } } : {}),
  ),
  ...["start", "stop", "restart", "kill", "pause", "unpause"].map((what) => param(`container ${what} id`, "POST", (id) => `/containers/${id}/${what}`)),
  { ...param("container wait id", "POST", (id) => `/containers/${id}/wait`), leaves: true },
  param("container delete id", "DELETE", (id) => `/containers/${id}`, { query: { force: "1", v: "1" } }),
  { ...param("container attach id", "POST", (id) => `/containers/${id}/attach`, { query: { stream: "1", stdout: "1" } }), leaves: true },
  { ...given("ctrl-p,ctrl-q", query("container attach detachKeys", "POST", `/containers/${ID}/attach`, "detachKeys", { stream: "1", stdout: "1" })), leaves: true },
  param("container logs id", "GET", (id) => `/containers/${id}/logs`, { query: { stdout: "1" } }),
  given("0", query("container logs since", "GET", `/containers/${ID}/logs`, "since", { stdout: "1" })),
  given("0", query("container logs until", "GET", `/containers/${ID}/logs`, "until", { stdout: "1" })),
  query("container logs tail", "GET", `/containers/${ID}/logs`, "tail", { stdout: "1" }),
  given("SIGTERM", query("container kill signal", "POST", `/containers/${ID}/kill`, "signal")),
  given("SIGTERM", query("container stop signal", "POST", `/containers/${ID}/stop`, "signal")),
  given("SIGTERM", query("container restart signal", "POST", `/containers/${ID}/restart`, "signal")),
  { ...given("not-running", query("container wait condition", "POST", `/containers/${ID}/wait`, "condition")), leaves: true },
  query("container top ps_args", "GET", `/containers/${ID}/top`, "ps_args"),
  param("container rename id", "POST", (id) => `/containers/${id}/rename`, { query: { name: "renamed" } }),
  query("container rename name", "POST", `/containers/${ID}/rename`, "name"),
  given("always", body("container update RestartPolicy", "POST", `/containers/${ID}/update`, (value) => ({ RestartPolicy: { Name: value } }))),
  param("container resize id", "POST", (id) => `/containers/${id}/resize`, { query: { h: "10", w: "10" } }),
  param("container archive get id", "GET", (id) => `/containers/${id}/archive`, { query: { path: "/" } }),
  given("/etc", query("container archive get path", "GET", `/containers/${ID}/archive`, "path")),
  given("/etc", query("container archive head path", "HEAD", `/containers/${ID}/archive`, "path")),
  given("/etc", query("container archive put path", "PUT", `/containers/${ID}/archive`, "path", {}, UPLOAD)),
  // Container create: every field that becomes a word of `nerdctl create`.
  { name: "container create name", probe: (value) => ({ method: "POST", path: "/containers/create", query: { name: value }, json: { Image: "busybox" } }) },
  given("linux/amd64", { name: "container create platform", probe: (value) => ({ method: "POST", path: "/containers/create", query: { platform: value }, json: { Image: "busybox" } }) }),
  create("Image", (value) => ({ Image: value })),
  create("Cmd", (value) => ({ Cmd: [value, value] })),
  create("Entrypoint", (value) => ({ Entrypoint: [value] })),
  create("Env", (value) => ({ Env: [value, `A=${value}`] })),
  create("Labels key", (value) => ({ Labels: { [value]: "x" } })),
  create("Labels value", (value) => ({ Labels: { a: value } })),
  given("/made", create("WorkingDir", (value) => ({ WorkingDir: value }))),
  create("User", (value) => ({ User: value })),
  create("Hostname", (value) => ({ Hostname: value })),
  create("Domainname", (value) => ({ Domainname: value })),
  given("SIGTERM", create("StopSignal", (value) => ({ StopSignal: value }))),
  given("/data", create("Volumes", (value) => ({ Volumes: { [value]: {} } }))),
  given("80/tcp", create("ExposedPorts", (value) => ({ ExposedPorts: { [value]: {} } }))),
  create("Healthcheck", (value) => ({ Healthcheck: { Test: ["CMD", value] } })),
  create("Shell", (value) => ({ Shell: [value] })),
  given("/data", create("HostConfig.Binds", (value) => ({ HostConfig: { Binds: [value] } }))),
  given("/srv", create("HostConfig.Binds source", (value) => ({ HostConfig: { Binds: [`${value}:/data`] } }))),
  given("/data", create("HostConfig.Binds target", (value) => ({ HostConfig: { Binds: [`/srv:${value}`] } }))),
  given("ro", create("HostConfig.Binds options", (value) => ({ HostConfig: { Binds: [`/srv:/data:${value}`] } }))),
  given("/srv", create("HostConfig.Mounts bind Source", (value) => ({ HostConfig: { Mounts: [{ Type: "bind", Source: value, Target: "/data" }] } }))),
  given("/data", create("HostConfig.Mounts Target", (value) => ({ HostConfig: { Mounts: [{ Type: "volume", Source: "vol", Target: value }] } }))),
  given("vol", create("HostConfig.Mounts volume Source", (value) => ({ HostConfig: { Mounts: [{ Type: "volume", Source: value, Target: "/data" }] } }))),
  given("/run", create("HostConfig.Tmpfs path", (value) => ({ HostConfig: { Tmpfs: { [value]: "" } } }))),
  given("size=1m", create("HostConfig.Tmpfs options", (value) => ({ HostConfig: { Tmpfs: { "/run": value } } }))),
  create("HostConfig.NetworkMode", (value) => ({ HostConfig: { NetworkMode: value } })),
  given("127.0.0.1", create("HostConfig.PortBindings HostIp", (value) => ({ HostConfig: { PortBindings: { "80/tcp": [{ HostIp: value, HostPort: "8080" }] } } }))),
  given("8080", create("HostConfig.PortBindings HostPort", (value) => ({ HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "", HostPort: value }] } } }))),
  given("1.1.1.1", create("HostConfig.Dns", (value) => ({ HostConfig: { Dns: [value] } }))),
  given("example.com", create("HostConfig.DnsSearch", (value) => ({ HostConfig: { DnsSearch: [value] } }))),
  given("ndots:2", create("HostConfig.DnsOptions", (value) => ({ HostConfig: { DnsOptions: [value] } }))),
  given("host:1.2.3.4", create("HostConfig.ExtraHosts", (value) => ({ HostConfig: { ExtraHosts: [value] } }))),
  given("NET_ADMIN", create("HostConfig.CapAdd", (value) => ({ HostConfig: { CapAdd: [value], CapDrop: [value] } }))),
  given("no-new-privileges", create("HostConfig.SecurityOpt", (value) => ({ HostConfig: { SecurityOpt: [value] } }))),
  given("json-file", create("HostConfig.LogConfig Type", (value) => ({ HostConfig: { LogConfig: { Type: value, Config: {} } } }))),
  given("10m", create("HostConfig.LogConfig Config", (value) => ({ HostConfig: { LogConfig: { Type: "json-file", Config: { "max-size": value } } } }))),
  given("always", create("HostConfig.RestartPolicy", (value) => ({ HostConfig: { RestartPolicy: { Name: value } } }))),
  given("/dev/null", create("HostConfig.Devices", (value) => ({ HostConfig: { Devices: [{ PathOnHost: value, PathInContainer: value, CgroupPermissions: "rwm" }] } }))),
  given("nofile", create("HostConfig.Ulimits", (value) => ({ HostConfig: { Ulimits: [{ Name: value, Soft: 1, Hard: 1 }] } }))),
  given("net.ipv4.ip_forward", create("HostConfig.Sysctls", (value) => ({ HostConfig: { Sysctls: { [value]: "1" } } }))),
  create("HostConfig.VolumesFrom", (value) => ({ HostConfig: { VolumesFrom: [value] } })),
  create("HostConfig.Links", (value) => ({ HostConfig: { Links: [value] } })),
  create("HostConfig.GroupAdd", (value) => ({ HostConfig: { GroupAdd: [value] } })),
  given("host", create("HostConfig.PidMode", (value) => ({ HostConfig: { PidMode: value } }))),
  given("host", create("HostConfig.IpcMode", (value) => ({ HostConfig: { IpcMode: value } }))),
  given("host", create("HostConfig.UTSMode", (value) => ({ HostConfig: { UTSMode: value } }))),
  create("HostConfig.CgroupParent", (value) => ({ HostConfig: { CgroupParent: value } })),
  create("HostConfig.Runtime", (value) => ({ HostConfig: { Runtime: value } })),
  create("NetworkingConfig", (value) => ({ NetworkingConfig: { EndpointsConfig: { [value]: { Aliases: [value] } } } })),
  // exec: the container, and everything of the command.
  exec("container id", () => ({})),
  { name: "exec create id", probe: (value) => ({ method: "POST", path: `/containers/${seg(value)}/exec`, json: { Cmd: ["true"] } }) },
  exec("Cmd", (value) => ({ Cmd: [value, value] })),
  exec("Env", (value) => ({ Env: [value] })),
  exec("User", (value) => ({ User: value })),
  exec("WorkingDir", (value) => ({ WorkingDir: value })),
  exec("DetachKeys", (value) => ({ DetachKeys: value })),
  { ...param("exec start id", "POST", (id) => `/exec/${id}/start`, { json: { Detach: true } }), control: () => execId },
  ...filters("containers", "GET", "/containers/json", ["name", "label", "ancestor", "volume", "network", "before", "status"]),
  ...filters("containers prune", "POST", "/containers/prune", ["label", "until"]),
  // Images.
  ...["json", "history", "get"].map((what) => param(`image ${what} name`, "GET", (name) => `/images/${name}/${what}`)),
  param("image delete name", "DELETE", (name) => `/images/${name}`, { query: { force: "1" } }),
  param("image tag name", "POST", (name) => `/images/${name}/tag`, { query: { repo: "made", tag: "v1" } }),
  query("image tag repo", "POST", "/images/busybox/tag", "repo", { tag: "v1" }),
  query("image tag tag", "POST", "/images/busybox/tag", "tag", { repo: "made" }),
  param("image push name", "POST", (name) => `/images/${name}/push`, { headers: { "X-Registry-Auth": b64({}) } }),
  { name: "image push tag", probe: (value) => ({ method: "POST", path: "/images/127.0.0.1:5000/busybox/push", query: { tag: value }, headers: { "X-Registry-Auth": b64({}) } }) },
  { name: "image push auth", probe: (value) => ({ method: "POST", path: "/images/127.0.0.1:5000/busybox/push", headers: { "X-Registry-Auth": b64({ username: value, password: value, serveraddress: value }) } }) },
  query("image pull fromImage", "POST", "/images/create", "fromImage"),
  query("image pull tag", "POST", "/images/create", "tag", { fromImage: "busybox" }),
  given("linux/amd64", query("image pull platform", "POST", "/images/create", "platform", { fromImage: "busybox" })),
  query("image import repo", "POST", "/images/create", "repo", { fromSrc: "-" }, UPLOAD),
  query("image import message", "POST", "/images/create", "message", { fromSrc: "-", repo: "made" }, UPLOAD),
  query("images save names", "GET", "/images/get", "names"),
  query("images json filter", "GET", "/images/json", "filter"),
  ...filters("images", "GET", "/images/json", ["reference", "label", "before", "since", "dangling"]),
  ...filters("images prune", "POST", "/images/prune", ["label", "until", "dangling"]),
  query("commit container", "POST", "/commit", "container", { repo: "made" }),
  query("commit repo", "POST", "/commit", "repo", { container: ID }),
  query("commit tag", "POST", "/commit", "tag", { container: ID, repo: "made" }),
  given('CMD ["sh"]', query("commit changes", "POST", "/commit", "changes", { container: ID, repo: "made" })),
  query("commit author", "POST", "/commit", "author", { container: ID, repo: "made" }),
  query("commit comment", "POST", "/commit", "comment", { container: ID, repo: "made" }),
  // Build: tags, the Dockerfile's path, arguments, labels and the rest of the query.
  build("t"),
  given("Dockerfile", build("dockerfile")),
  build("buildargs", (value) => JSON.stringify({ [value]: value })),
  build("labels", (value) => JSON.stringify({ [value]: value })),
  build("target"),
  given("linux/amd64", build("platform")),
  given("host", build("networkmode")),
  given("made:1.2.3.4", build("extrahosts")),
  build("cachefrom", (value) => JSON.stringify([value])),
  // Volumes and networks.
  body("volume create Name", "POST", "/volumes/create", (value) => ({ Name: value })),
  body("volume create Labels", "POST", "/volumes/create", (value) => ({ Name: "made", Labels: { [value]: value } })),
  given("local", body("volume create Driver", "POST", "/volumes/create", (value) => ({ Name: "made", Driver: value }))),
  param("volume inspect name", "GET", (name) => `/volumes/${name}`),
  param("volume delete name", "DELETE", (name) => `/volumes/${name}`),
  ...filters("volumes", "GET", "/volumes", ["name", "label", "dangling", "driver"]),
  ...filters("volumes prune", "POST", "/volumes/prune", ["label", "all"]),
  body("network create Name", "POST", "/networks/create", (value) => ({ Name: value })),
  given("bridge", body("network create Driver", "POST", "/networks/create", (value) => ({ Name: "made", Driver: value }))),
  body("network create Labels", "POST", "/networks/create", (value) => ({ Name: "made", Labels: { [value]: value } })),
  body("network create Options", "POST", "/networks/create", (value) => ({ Name: "made", Options: { [value]: value } })),
  given("default", body("network create IPAM Driver", "POST", "/networks/create", (value) => ({ Name: "made", IPAM: { Driver: value } }))),
  given("10.9.0.0/24", body("network create IPAM Subnet", "POST", "/networks/create", (value) => ({ Name: "made", IPAM: { Config: [{ Subnet: value }] } }))),
  given("10.9.0.1", body("network create IPAM Gateway", "POST", "/networks/create", (value) => ({ Name: "made", IPAM: { Config: [{ Subnet: "10.9.0.0/24", Gateway: value }] } }))),
  given("10.9.0.0/25", body("network create IPAM IPRange", "POST", "/networks/create", (value) => ({ Name: "made", IPAM: { Config: [{ Subnet: "10.9.0.0/24", IPRange: value }] } }))),
  param("network inspect id", "GET", (id) => `/networks/${id}`),
  param("network delete id", "DELETE", (id) => `/networks/${id}`),
  ...filters("networks", "GET", "/networks", ["name", "id", "label", "driver", "type"]),
  ...filters("networks prune", "POST", "/networks/prune", ["label", "until"]),
  given("volume", query("system df type", "GET", "/system/df", "type")),
];

/** Sends a request as a client does, reading the whole answer (or leaving once its status is in); the body's text. */
async function exchange(app: H3, slot: Slot, probe: Probe): Promise<{ status: number; text: string }> {
  const client = new AbortController();
  const response = await app.fetch(requestOf(probe, client.signal));
  if (!slot.leaves) return { status: response.status, text: await response.text() };
  client.abort();
  await response.body?.cancel();
  return { status: response.status, text: "" };
}

/** A flag word is the client's when its name holds a made value, or when it is a whole value the client sent. */
function injectedFlags(args: readonly string[], value: string): string[] {
  const end = args.indexOf("--");
  const flags = (end === -1 ? args : args.slice(0, end)).filter((word) => word.startsWith("-"));
  return flags.filter((word) => word === value || word.split("=")[0]!.includes(MARK));
}

function requestOf(probe: Probe, signal?: AbortSignal): Request {
  const url = new URL(`http://localhost/v1.43${probe.path}`);
  for (const [key, given] of Object.entries(probe.query ?? {})) for (const item of [given].flat()) url.searchParams.append(key, item);
  const headers = new Headers(probe.headers);
  let payload: BodyInit | undefined = probe.body;
  if (probe.json !== undefined) {
    payload = JSON.stringify(probe.json);
    headers.set("Content-Type", "application/json");
  }
  return new Request(url, { method: probe.method, headers, body: payload, signal });
}

interface Finding {
  slot: string;
  value: string;
  what: string;
}

const short = (value: string) => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…(${value.length} chars)` : value);

/**
 * The obliging engine, and a container's snapshot for the archive endpoints:
 * ctr describes it as a bind of a test tree (which holds links out of itself),
 * "mounting" copies the tree to the mount point, and the namespace holder is a
 * real cat, as in the daemon.
 */
class Engine extends ObligingRunner {
  tree = "";

  override async run(command: Command): Promise<RunResult> {
    // No create was recorded on its own: nerdctl prints the new container's id.
    if (command.program === "nerdctl" && command.args.includes("create") && !command.args.includes("volume") && !command.args.includes("network")) {
      this.calls.push(command);
      return { stdout: `${"c".repeat(64)}\n`, stderr: "", exitCode: 0 };
    }
    if (command.program === "ctr") {
      this.calls.push(command);
      return { stdout: `mount -t bind ${this.tree} ${command.args.at(-2)} -o rbind\n`, stderr: "", exitCode: 0 };
    }
    if (command.program === "nsenter") {
      this.calls.push(command);
      await cp(this.tree, command.args.at(-1)!, { recursive: true, verbatimSymlinks: true });
      return { stdout: "", stderr: "", exitCode: 0 };
    }
    return super.run(command);
  }

  override spawn(command: Command): RunningCommand {
    if (command.program !== "unshare") return super.spawn(command);
    this.calls.push(command);
    const child = spawn("cat", ["/proc/self/stat", "-"], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise<RunResult>((resolve) => child.once("exit", (code) => resolve({ stdout: "", stderr: "", exitCode: code ?? 137 })));
    return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill: () => child.kill("SIGKILL") };
  }
}

/** What the daemon reads of the host besides its temporary directory and the paths the engine names: its own mounts. */
const HOST_READS = new Set(["/proc/self/mountinfo"]);

let work: string;
let app: H3;
let runner: Engine;
const savedTmp = process.env.TMPDIR;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-hardening-"));
  // The daemon's temporary files go under os.tmpdir(): here, into the one directory it may use.
  process.env.TMPDIR = work;
  // Every container the probes name is the recorded running one (exec needs one).
  const plainInspect = (args: readonly string[]) => args.includes("inspect") && args.includes("container") && !args.includes("--mode");
  runner = new Engine((await readFixtures(FIXTURES_DIR)).filter((fixture) => !plainInspect(fixture.args) || fixture.args.at(-1) === "web"));
  runner.tree = join(work, "tree");
  await mkdir(join(runner.tree, "etc"), { recursive: true });
  await writeFile(join(runner.tree, "etc", "hostname"), "box\n");
  await symlink("/", join(runner.tree, "root"));
  await symlink("../../../../..", join(runner.tree, "up"));
  const nerdctl = new Nerdctl(runner);
  app = createDaemonApp({
    routes: await loadRouteFiles(ROUTES_DIR),
    services: {
      nerdctl,
      events: new EventHub(nerdctl),
      facts: () => TEST_FACTS,
      execs: new ExecRegistry(),
      stdio: new ContainerStdio(),
      samplers: new StatsSamplers(),
      health: new HealthChecks(),
    },
    daemonVersion: TEST_FACTS.version,
  });
  const made = await app.fetch(requestOf({ method: "POST", path: `/containers/${ID}/exec`, json: { Cmd: ["true"] } }));
  execId = ((await made.json()) as { Id: string }).Id;
}, 120_000);

afterAll(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  await rm(work, { recursive: true, force: true });
});

describe("hostile parameter values", () => {
  it(`never become flags, touch no host path, and fail no request inside the daemon (${FULL ? "full" : "short"} profile)`, { timeout: FULL ? 1_800_000 : 120_000 }, async () => {
    const values = hostileValues();
    const findings: Finding[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let argvChecked = 0;
    let pathsChecked = 0;
    const unwired: string[] = [];
    for (const slot of SLOTS) {
      // A value a client would send: it must reach the engine, or the slot tests nothing.
      const before = runner.calls.length;
      const control = await exchange(app, slot, slot.probe(slot.control?.() ?? "made"));
      if (runner.calls.length === before) unwired.push(`${slot.name}: ${control.status} ${control.text.slice(0, 200)}`);
      for (const value of values) {
        const probe = slot.probe(value);
        try {
          requestOf(probe);
        } catch {
          // A value no HTTP client can send (a NUL or a newline in a header).
          continue;
        }
        sent++;
        const callsBefore = runner.calls.length;
        const accessesBefore = fsAccesses.length;
        const printedBefore = runner.printed.length;
        try {
          const { status, text } = await exchange(app, slot, probe);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500 && status !== 501) findings.push({ slot: slot.name, value, what: `${status} ${text.slice(0, 300)}` });
        } catch (error) {
          findings.push({ slot: slot.name, value, what: `the app threw: ${(error as Error).stack}` });
        }
        for (const command of runner.calls.slice(callsBefore) as Command[]) {
          argvChecked++;
          for (const word of injectedFlags(command.args, value)) findings.push({ slot: slot.name, value, what: `flag ${short(word)} in ${command.program} ${command.args.map(short).join(" ")}` });
          for (const word of [...command.args, ...Object.values(command.env ?? {})]) {
            if (word.includes("\0")) findings.push({ slot: slot.name, value, what: `a NUL in an argument of ${command.program} ${command.args.map(short).join(" ")}` });
          }
        }
        const printed = runner.printed.slice(printedBefore).join("\n");
        for (const access of fsAccesses.slice(accessesBefore)) {
          pathsChecked++;
          // The namespace holder's view of the host is the host's.
          const path = access.path.replace(/^\/proc\/\d+\/root\//, "/");
          const allowed = !relative(work, path).startsWith("..") || HOST_READS.has(path) || printed.includes(path);
          if (!allowed) findings.push({ slot: slot.name, value, what: `${access.call} ${access.path}` });
        }
      }
    }
    const summary = findings.map((finding) => `${finding.slot} = ${short(finding.value)}: ${finding.what}`);
    if (FULL) {
      writeReportSection(
        HARDENING_REPORT,
        "1-injection",
        [
          "## Injection: hostile parameter values",
          "",
          `- **Figure**: ${sent} hostile values sent (${values.length} distinct values × ${SLOTS.length} parameters), ${argvChecked} engine argv and ${pathsChecked} file-system paths checked; ${findings.length} findings.`,
          `- **Bound**: at least ${FULL_BOUND} values sent; 0 values that became a flag, 0 paths outside the daemon's temporary directory, 0 responses ≥ 500 other than 501, 0 throws.`,
          `- **Result**: ${findings.length === 0 && sent >= FULL_BOUND ? "pass" : "FAIL"}.`,
          `- **Statuses**: ${[...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status} × ${count}`).join(", ")}.`,
          "- **How**: `NERDCTLD_HARDENING_FULL=1 npx vitest run --project unit lib/server/hardening-injection.test.ts`. Each value (a flag, `--`, `--x=y`, NUL, newlines, `../`, absolute paths, unicode, 64 KiB strings, the empty string, each also as `value:latest` and `zq=value`) goes into one parameter of one request to the daemon's app, built in-process over an engine that answers every call with the closest recorded output (it never fails, so any 5xx is the daemon's). Every argv the engine is given is checked: before its `--`, no word that starts with `-` is a value the client sent or carries a made value in its flag name; no argument holds a NUL. Every path handed to node:fs is checked to lie in the temporary directory the daemon was given (TMPDIR), or to be one the engine named (a volume's directory), or /proc/self/mountinfo.",
          ...(summary.length ? ["", "Findings:", "", ...summary.map((line) => `- ${line.replace(/\n/g, "\\n")}`)] : []),
        ].join("\n"),
      );
    }
    expect(summary).toEqual([]);
    expect(unwired).toEqual([]);
    if (FULL) expect(sent).toBeGreaterThanOrEqual(FULL_BOUND);
  });
});
