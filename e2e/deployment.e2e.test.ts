/**
 * nerdctld deployed as users deploy it: the npm package installed from its
 * tarball, started from the installed bin/ on an engine that package's
 * nerdctld-engine runs, and reached by the docker CLI.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeEngineData } from "../lib/engine/data-removal.ts";
import { engineLayout } from "../lib/engine/layout.ts";
import { pingSocket } from "./support/daemon.ts";
import { docker } from "./support/docker-cli.ts";
import { writeBusyboxImage } from "./support/images.ts";
import { packAndInstall, parseExports, startProcess, type InstalledPackage, type RunningProcess } from "./support/installed.ts";

const DOCKER = "/usr/local/bin/docker";
const SETUP_TIMEOUT_MS = 600_000;

let work: string;
let installed: InstalledPackage;
/** The environment nerdctld-engine start printed: CONTAINERD_ADDRESS, NERDCTL_TOML, PATH, … */
let engineEnv: Record<string, string>;
let engineDirs: { stateDir: string; dataDir: string } | undefined;
const running: RunningProcess[] = [];

const runInstalled = (name: "nerdctld" | "nerdctld-engine", args: string[], env: NodeJS.ProcessEnv = {}) =>
  execa(installed.bin(name), args, { env, reject: false, stdin: "ignore", timeout: 120_000 });

/** nerdctld from the installed package on the test engine, in the "deploy" namespace. */
async function startInstalledDaemon(args: string[], ready: () => Promise<boolean>, name: string): Promise<RunningProcess> {
  const daemon = await startProcess(installed.bin("nerdctld"), ["--engine", "external", "--namespace", "deploy", ...args], {
    logFile: join(work, `${name}.log`),
    env: { ...process.env, ...engineEnv },
    ready,
  });
  running.push(daemon);
  return daemon;
}

beforeAll(async () => {
  // Short: unix socket paths under it must stay within 107 bytes.
  work = await mkdtemp("/tmp/ndp-");
  installed = await packAndInstall(work);

  engineDirs = { stateDir: join(work, "e", "run"), dataDir: join(work, "e", "data") };
  const started = await runInstalled("nerdctld-engine", ["start", "--state-dir", engineDirs.stateDir, "--data-dir", engineDirs.dataDir, "--namespace", "deploy"]);
  if (started.exitCode !== 0) throw new Error(`nerdctld-engine start failed (${started.exitCode}):\n${started.stderr}`);
  engineEnv = parseExports(started.stdout);
  const image = await writeBusyboxImage(join(work, "busybox.tar"));
  const nerdctl = (args: string[]) => execa("nerdctl", args, { env: { ...process.env, ...engineEnv }, stdin: "ignore" });
  await nerdctl(["load", "--input", image.path]);
  await nerdctl(["create", "--name", "deployed", "busybox"]);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  for (const daemon of running) await daemon.stop();
  if (engineDirs) {
    await runInstalled("nerdctld-engine", ["stop", "--state-dir", engineDirs.stateDir, "--data-dir", engineDirs.dataDir]);
    await removeEngineData(engineLayout(engineDirs));
  }
  if (work) await rm(work, { recursive: true, force: true });
}, SETUP_TIMEOUT_MS);

describe("the npm package", () => {
  it("installs the nerdctld and nerdctld-engine commands", async () => {
    const pkg = JSON.parse(await readFile(join(installed.packageDir, "package.json"), "utf8")) as { version: string };
    const version = await runInstalled("nerdctld", ["--version"]);
    expect(version).toMatchObject({ exitCode: 0, stdout: `nerdctld ${pkg.version}` });

    const help = await runInstalled("nerdctld", ["--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: nerdctld \[OPTIONS\]/);
    expect(help.stdout).toContain("--tlsverify");

    const engineHelp = await runInstalled("nerdctld-engine", ["--help"]);
    expect(engineHelp.exitCode).toBe(0);
    expect(engineHelp.stdout).toMatch(/^Usage: nerdctld-engine <install\|start\|stop\|status>/);
  });

  it("installs the engine with nerdctld-engine install, one line per program", async () => {
    const install = await runInstalled("nerdctld-engine", ["install"], { NERDCTLD_ENGINE_HOME: process.env.NERDCTLD_ENGINE_HOME });
    expect(install.exitCode).toBe(0);
    for (const program of ["containerd", "containerd-shim-runc-v2", "ctr", "runc", "buildkitd", "buildctl", "nerdctl", "CNI plugin bridge"]) {
      expect(install.stderr).toMatch(new RegExp(`^\\[install-engine\\] (?:${program} present|built ${program} in \\d+s)$`, "m"));
    }
    expect(install.stderr).toMatch(/^\[install-engine\] engine ready in /m);
  });

  it("ships compiled JavaScript, the route table, the systemd units and the memory addon built at install, and no TypeScript", async () => {
    const files = (await readdir(installed.packageDir, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => relative(installed.packageDir, join(entry.parentPath, entry.name)))
      .filter((file) => !file.startsWith("node_modules/"));
    expect(files.filter((file) => file.endsWith(".ts"))).toEqual([]);
    expect(files).toContain("dist/bin/nerdctld.js");
    expect(files).toContain("dist/routes/v1.43/_ping.get.js");
    expect(files).toContain("deploy/systemd/nerdctl.socket");
    // Built at install: what hands malloc's free memory back when the daemon is idle.
    expect(files).toContain("native/build/Release/malloc_trim.node");
    // Nothing that runs TypeScript comes with it.
    const dependencies = await readdir(join(installed.packageDir, "node_modules"));
    expect(dependencies).not.toContain("tsx");
    expect(dependencies).not.toContain("typescript");
  });

  it("serves the docker CLI from the installed package on the engine nerdctld-engine started", async () => {
    const socketPath = join(work, "installed.sock");
    await startInstalledDaemon(["-H", `unix://${socketPath}`], () => pingSocket(socketPath), "installed");

    const version = await docker(DOCKER, `unix://${socketPath}`, ["version", "--format", "{{.Server.Platform.Name}}|{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}"]);
    expect(version.stderr).toBe("");
    expect(version.stdout).toMatch(/^nerdctld \S+ \(containerd\)\|.*containerd=2\.3\.3 /);

    const ps = await docker(DOCKER, `unix://${socketPath}`, ["ps", "--all", "--format", "{{.Names}} {{.Image}}"]);
    expect(ps).toMatchObject({ exitCode: 0, stdout: "deployed busybox:latest" });
  });
});

/** The words of a unit's ExecStart after the nerdctld command itself. */
function nerdctldArgs(unit: string): string[] {
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  if (!execStart) throw new Error("no ExecStart= in the unit");
  const words = execStart.trim().split(/\s+/);
  const at = words.findIndex((word) => word === "nerdctld" || word.endsWith("/nerdctld"));
  if (at < 0) throw new Error(`ExecStart= does not run nerdctld: ${execStart}`);
  return words.slice(at + 1);
}

describe("the systemd units the package ships", () => {
  const unitsDir = () => join(installed.packageDir, "deploy", "systemd");

  it("are valid units for systemd and for a user's systemd", async () => {
    const system = await execa("systemd-analyze", ["verify", "--man=no", "nerdctl.socket", "nerdctl.service"], { cwd: unitsDir(), reject: false });
    expect(system).toMatchObject({ exitCode: 0, stderr: "" });
    const runtimeDir = await mkdtemp(join(work, "xdg-"));
    const user = await execa("systemd-analyze", ["--user", "verify", "--man=no", "nerdctl.socket", "nerdctl.service"], {
      cwd: join(unitsDir(), "user"),
      env: { XDG_RUNTIME_DIR: runtimeDir },
      reject: false,
    });
    expect(user).toMatchObject({ exitCode: 0, stderr: "" });
  });

  it("serve the docker CLI through the socket systemd opens and hands over (-H fd://, socket activation)", async () => {
    const args = nerdctldArgs(await readFile(join(unitsDir(), "nerdctl.service"), "utf8"));
    expect(args).toEqual(expect.arrayContaining(["-H", "fd://"]));
    const socketPath = join(work, "activated.sock");
    // systemd-socket-activate opens the socket and starts nerdctld only when the first client connects, as systemd
    // does; like a unit's Environment=, --setenv is all the environment nerdctld gets.
    const setenv = Object.entries(engineEnv).map(([name, value]) => `--setenv=${name}=${value}`);
    const command = [installed.bin("nerdctld"), ...args, "--engine", "external", "--namespace", "deploy"];
    await startProcess("systemd-socket-activate", ["--listen", socketPath, ...setenv, "--", ...command], {
      logFile: join(work, "activated.log"),
      ready: async () => (await stat(socketPath).catch(() => undefined))?.isSocket() ?? false,
    }).then((activator) => running.push(activator));

    const version = await docker(DOCKER, `unix://${socketPath}`, ["version", "--format", "{{.Server.Platform.Name}}"]);
    expect(version.stderr).toBe("");
    expect(version.stdout).toMatch(/^nerdctld \S+ \(containerd\)$/);
    const ps = await docker(DOCKER, `unix://${socketPath}`, ["ps", "--all", "--format", "{{.Names}}"]);
    expect(ps).toMatchObject({ exitCode: 0, stdout: "deployed" });
  });
});

describe("a socket for a group (-G)", () => {
  const suffix = randomBytes(3).toString("hex");
  const group = `ndg${suffix}`;
  const member = `ndin${suffix}`;
  const outsider = `ndout${suffix}`;
  let socketPath: string;
  let configDir: string;

  /** The docker CLI as another user, with that user's groups (from /etc/group). */
  const dockerAs = (user: string, args: string[]) =>
    execa("runuser", ["-u", user, "--", "env", `DOCKER_CONFIG=${configDir}`, "DOCKER_CLI_HINTS=false", DOCKER, "--host", `unix://${socketPath}`, ...args], {
      reject: false,
      stdin: "ignore",
      timeout: 60_000,
    });

  beforeAll(async () => {
    await execa("groupadd", [group]);
    await execa("useradd", ["--no-create-home", "--no-user-group", "--shell", "/usr/sbin/nologin", "--groups", group, member]);
    await execa("useradd", ["--no-create-home", "--no-user-group", "--shell", "/usr/sbin/nologin", outsider]);
    // Others may pass through the test's directories to reach the socket; the socket's own mode decides.
    await chmod(work, 0o711);
    const dir = await mkdtemp(join(work, "g-"));
    await chmod(dir, 0o755);
    configDir = await mkdtemp(join(work, "cfg-"));
    await chmod(configDir, 0o755);
    socketPath = join(dir, "nerdctl.sock");
    await startInstalledDaemon(["-H", `unix://${socketPath}`, "-G", group], () => pingSocket(socketPath), "group");
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    for (const user of [member, outsider]) await execa("userdel", [user], { reject: false });
    await execa("groupdel", [group], { reject: false });
  });

  it("is mode 0660, owned by the group", async () => {
    const info = await stat(socketPath);
    const gid = Number((await execa("getent", ["group", group])).stdout.split(":")[2]);
    expect(info.mode & 0o777).toBe(0o660);
    expect(info.gid).toBe(gid);
  });

  it("serves a user in the group and refuses one who is not", async () => {
    const ps = await dockerAs(member, ["ps", "--all", "--format", "{{.Names}}"]);
    expect(ps).toMatchObject({ exitCode: 0, stdout: "deployed" });

    const refused = await dockerAs(outsider, ["ps"]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/permission denied/);
  });
});

describe("TLS with client certificates (--tlsverify)", () => {
  let tlsDir: string;
  let dockerHost: string;
  const file = (name: string) => join(tlsDir, name);
  const dockerTls = (args: string[]) => docker(DOCKER, dockerHost, args);

  /** A key and a certificate signed by the CA in caName (self-signed without one), with OpenSSL. */
  async function certificate(name: string, subject: string, caName: string | undefined, extensions: string[]): Promise<void> {
    await execa("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      ...(caName ? ["-CA", file(`${caName}.pem`), "-CAkey", file(`${caName}-key.pem`)] : []),
      "-keyout", file(`${name}-key.pem`), "-out", file(`${name}.pem`), "-subj", `/CN=${subject}`,
      ...extensions.flatMap((extension) => ["-addext", extension]),
    ]);
  }

  beforeAll(async () => {
    tlsDir = await mkdtemp(join(work, "tls-"));
    const leaf = "basicConstraints=critical,CA:FALSE";
    await certificate("ca", "nerdctld test CA", undefined, []);
    await certificate("other-ca", "another CA", undefined, []);
    await certificate("server", "localhost", "ca", [leaf, "subjectAltName=IP:127.0.0.1", "extendedKeyUsage=serverAuth"]);
    await certificate("client", "client", "ca", [leaf, "extendedKeyUsage=clientAuth"]);
    await certificate("stranger", "client", "other-ca", [leaf, "extendedKeyUsage=clientAuth"]);

    const daemon = await startInstalledDaemon(
      ["-H", "tcp://127.0.0.1:0", "--tlsverify", "--tlscacert", file("ca.pem"), "--tlscert", file("server.pem"), "--tlskey", file("server-key.pem")],
      async () => /API listening on tcp\+tls:\/\/127\.0\.0\.1:\d+/.test(await readFile(join(work, "tls.log"), "utf8").catch(() => "")),
      "tls",
    );
    const port = /API listening on tcp\+tls:\/\/127\.0\.0\.1:(\d+)/.exec(await daemon.log())![1];
    dockerHost = `tcp://127.0.0.1:${port}`;
  }, SETUP_TIMEOUT_MS);

  it("serves the docker CLI with a client certificate the CA signed", async () => {
    const tls = ["--tlsverify", "--tlscacert", file("ca.pem"), "--tlscert", file("client.pem"), "--tlskey", file("client-key.pem")];
    const version = await dockerTls([...tls, "version", "--format", "{{.Server.Platform.Name}}"]);
    expect(version.stderr).toBe("");
    expect(version.stdout).toMatch(/^nerdctld \S+ \(containerd\)$/);
    const ps = await dockerTls([...tls, "ps", "--all", "--format", "{{.Names}}"]);
    expect(ps).toMatchObject({ exitCode: 0, stdout: "deployed" });
  });

  it("refuses the docker CLI without a client certificate, with another CA's, or without TLS", async () => {
    const none = await dockerTls(["--tlsverify", "--tlscacert", file("ca.pem"), "version"]);
    expect(none.exitCode).not.toBe(0);
    expect(none.stderr).toContain("tls: certificate required");

    // The docker CLI only offers a certificate of a CA the server names; refused all the same.
    const stranger = await dockerTls(["--tlsverify", "--tlscacert", file("ca.pem"), "--tlscert", file("stranger.pem"), "--tlskey", file("stranger-key.pem"), "version"]);
    expect(stranger.exitCode).not.toBe(0);
    expect(stranger.stderr).toContain("tls: certificate required");

    const plain = await dockerTls(["version"]);
    expect(plain.exitCode).not.toBe(0);
    expect(plain.stdout).not.toContain("nerdctld");
  });

  /** GET /_ping over TLS presenting the named certificate, whatever CAs the server asks for: what came back. */
  function pingPresenting(name: string): Promise<string> {
    const port = Number(dockerHost.split(":").at(-1));
    return new Promise((resolve) => {
      const socket = tlsConnect({
        host: "127.0.0.1",
        port,
        ca: readFileSync(file("ca.pem")),
        cert: readFileSync(file(`${name}.pem`)),
        key: readFileSync(file(`${name}-key.pem`)),
      });
      let answer = "";
      socket.on("secureConnect", () => socket.write("GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"));
      socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
      socket.on("error", () => {});
      socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
    });
  }

  it("refuses a client that presents a certificate another CA signed", async () => {
    expect(await pingPresenting("client")).toBe("HTTP/1.1 200 OK");
    expect(await pingPresenting("stranger")).toBe("");
  });
});

describe("nerdctld dial-stdio (for DOCKER_HOST=ssh://)", () => {
  it("carries a raw HTTP exchange between stdin/stdout and the daemon's socket", async () => {
    const socketPath = join(work, "dial.sock");
    await startInstalledDaemon(["-H", `unix://${socketPath}`], () => pingSocket(socketPath), "dial");
    // stdin stays open, as the docker CLI keeps its ssh channel open while it waits for an answer (a half-close
    // before the answer reads as a client gone, to nerdctld as to dockerd); the daemon closing ends the command.
    const dialing = execa(installed.bin("nerdctld"), ["dial-stdio", "-H", `unix://${socketPath}`], { reject: false, timeout: 30_000 });
    dialing.stdin.write("GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n");
    const dialed = await dialing;
    expect(dialed.exitCode).toBe(0);
    expect(dialed.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(dialed.stdout).toMatch(/\r\napi-version: 1\.43\r\n[^]*\r\n\r\nOK$/);
  });

  it("fails, saying why, when nothing listens", async () => {
    const dialed = await runInstalled("nerdctld", ["dial-stdio", "-H", `unix://${join(work, "nobody.sock")}`]);
    expect(dialed.exitCode).toBe(1);
    expect(dialed.stderr).toMatch(/ENOENT.*nobody\.sock/);
  });
});
