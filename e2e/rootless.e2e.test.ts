/**
 * nerdctld as an unprivileged user on rootless containerd, set up the way
 * nerdctl's documentation sets it up: containerd-rootless-setuptool.sh
 * `install` and `install-buildkit-containerd` (CONTAINERD_NAMESPACE=default)
 * write the user's containerd and buildkitd units, and nerdctld runs from the
 * package's user units (deploy/systemd/user), socket-activated on
 * $XDG_RUNTIME_DIR/nerdctl.sock. The user's docker CLI then runs, ps and
 * builds.
 *
 * The machines this runs on have no systemd user instance: the setup tool
 * gets a `systemctl` that accepts every call, and the test starts what each
 * unit's ExecStart= runs, with the unit's Environment=, as the user.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBusyboxImage } from "./support/images.ts";
import { packAndInstall, startProcess, type InstalledPackage, type RunningProcess } from "./support/installed.ts";
import { CLI_PLUGINS_DIR } from "./support/matrix.ts";
import { createUser, type TestUser } from "./support/users.ts";

const DOCKER = "/usr/local/bin/docker";
const SETUP_TIMEOUT_MS = 600_000;
const ENGINE_HOME = process.env.NERDCTLD_ENGINE_HOME || "/opt/nerdctld-engine";
/** nerdctl's extras/rootless scripts, as scripts/install-rootless.sh installs them. */
const ROOTLESS_SCRIPTS = join(ENGINE_HOME, "rootless");
const ENGINE_BIN = join(ENGINE_HOME, "current", "bin");
const ENGINE_CNI = join(ENGINE_HOME, "current", "cni");
/** The PATH systemd gives user services. */
const SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

let work: string;
let installed: InstalledPackage;
let user: TestUser | undefined;
let runtimeDir: string | undefined;
/** Started in this order, stopped in the reverse. */
const services: RunningProcess[] = [];

/** What a user session has: HOME, USER, XDG_RUNTIME_DIR (pam_systemd's), PATH. */
const sessionEnv = (path: string): Record<string, string> => ({
  HOME: user!.home,
  USER: user!.name,
  LOGNAME: user!.name,
  XDG_RUNTIME_DIR: runtimeDir!,
  PATH: path,
});

/** A unit's ExecStart= words (quotes dropped) and its Environment= settings. */
function serviceOf(unit: string): { argv: string[]; env: Record<string, string> } {
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  if (!execStart) throw new Error(`no ExecStart= in:\n${unit}`);
  const env: Record<string, string> = {};
  for (const [, name, value] of unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) env[name!] = value!;
  return { argv: execStart.trim().split(/\s+/).map((word) => word.replace(/^"(.*)"$/, "$1")), env };
}

const isSocket = async (path: string) => (await stat(path).catch(() => undefined))?.isSocket() ?? false;

/** Runs what the user unit runs, as the user, until ready. */
async function startService(name: string, argv: string[], env: Record<string, string>, ready: () => Promise<boolean>): Promise<void> {
  const [command, args] = user!.argv(argv[0]!, argv.slice(1));
  services.push(await startProcess(command, args, { logFile: join(work, `${name}.log`), env, ready, timeoutMs: 120_000 }));
}

/** The user's docker CLI on the user's nerdctld. */
function dockerAsUser(args: string[], options: { cwd?: string } = {}) {
  return user!.run(DOCKER, args, { ...sessionEnv(SERVICE_PATH), DOCKER_HOST: `unix://${runtimeDir}/nerdctl.sock`, DOCKER_CLI_HINTS: "false" }, options);
}

/** Writes a file in the user's home, owned by the user, making its directories (the user's too). */
async function writeUserFile(relative: string, content: string): Promise<string> {
  const path = join(user!.home, relative);
  const parts = relative.split("/").slice(0, -1);
  for (let depth = 1; depth <= parts.length; depth += 1) {
    const dir = join(user!.home, ...parts.slice(0, depth));
    await mkdir(dir, { recursive: true });
    await execa("chown", [`${user!.uid}:${user!.gid}`, dir]);
  }
  await writeFile(path, content);
  await execa("chown", [`${user!.uid}:${user!.gid}`, path]);
  return path;
}

beforeAll(async () => {
  // Passable by the user: the installed package and the user's home are inside.
  work = await mkdtemp("/tmp/ndr-");
  await chmod(work, 0o711);
  installed = await packAndInstall(work);
  user = await createUser("ndrl", join(work, "home"));
  // The runtime directory pam_systemd makes at login.
  runtimeDir = `/run/user/${user.uid}`;
  await rm(runtimeDir, { recursive: true, force: true });
  await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
  await execa("chown", [`${user.uid}:${user.gid}`, runtimeDir]);

  // The user's configuration: where the engine's CNI plugins are, for nerdctl and for buildkitd's containerd worker,
  // and the docker CLI's buildx plugin.
  await writeUserFile(".config/nerdctl/nerdctl.toml", `cni_path = ${JSON.stringify(ENGINE_CNI)}\n`);
  await writeUserFile(".config/buildkit/buildkitd.toml", `[worker.containerd]\n  cniBinaryPath = ${JSON.stringify(ENGINE_CNI)}\n`);
  await writeUserFile(".docker/config.json", JSON.stringify({ cliPluginsExtraDirs: [CLI_PLUGINS_DIR] }));

  const standIn = join(work, "systemctl-stand-in");
  await mkdir(standIn, { mode: 0o755 });
  await writeFile(join(standIn, "systemctl"), "#!/bin/sh\n# systemctl --user, as if every unit were running.\nexit 0\n", { mode: 0o755 });
  const setupPath = `${standIn}:${ROOTLESS_SCRIPTS}:${ENGINE_BIN}:${SERVICE_PATH}`;
  const setuptool = join(ROOTLESS_SCRIPTS, "containerd-rootless-setuptool.sh");
  for (const [command, extra] of [["install", {}], ["install-buildkit-containerd", { CONTAINERD_NAMESPACE: "default" }]] as const) {
    const result = await user.run(setuptool, [command], { ...sessionEnv(setupPath), ...extra }, { cwd: user.home });
    if (result.exitCode !== 0) throw new Error(`containerd-rootless-setuptool.sh ${command} failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  }

  const units = join(user.home, ".config", "systemd", "user");
  const containerd = serviceOf(await readFile(join(units, "containerd.service"), "utf8"));
  await startService("containerd", containerd.argv, { ...sessionEnv(SERVICE_PATH), ...containerd.env }, () => isSocket(join(runtimeDir!, "containerd", "containerd.sock")));
  const buildkit = serviceOf(await readFile(join(units, "default-buildkit.service"), "utf8"));
  await startService("buildkitd", buildkit.argv, { ...sessionEnv(SERVICE_PATH), ...buildkit.env }, () => isSocket(join(runtimeDir!, "buildkit-default", "buildkitd.sock")));

  // nerdctld from the package's user units: systemd opens nerdctl.socket's ListenStream and starts nerdctl.service.
  const userUnits = join(installed.packageDir, "deploy", "systemd", "user");
  const listen = /^ListenStream=%t\/(.+)$/m.exec(await readFile(join(userUnits, "nerdctl.socket"), "utf8"))?.[1];
  expect(listen).toBe("nerdctl.sock");
  const nerdctld = serviceOf(await readFile(join(userUnits, "nerdctl.service"), "utf8"));
  // A user service gets the manager's environment and no more; nerdctld is where npm put it.
  const setenv = Object.entries(sessionEnv(`${installed.prefix}/bin:${SERVICE_PATH}`)).map(([name, value]) => `--setenv=${name}=${value}`);
  const socket = join(runtimeDir, listen!);
  await startService("nerdctld", ["systemd-socket-activate", `--listen=${socket}`, ...setenv, "--", ...nerdctld.argv], { PATH: SERVICE_PATH }, () => isSocket(socket));

  const image = await writeBusyboxImage(join(work, "busybox.tar"));
  await chmod(image.path, 0o644);
  const loaded = await dockerAsUser(["load", "--input", image.path]);
  if (loaded.exitCode !== 0) throw new Error(`docker load as ${user.name} failed:\n${loaded.stderr}`);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (services.length > 0) {
    const left = await dockerAsUser(["ps", "--all", "--quiet"]);
    const ids = String(left.stdout).split("\n").filter(Boolean);
    if (ids.length > 0) await dockerAsUser(["rm", "--force", ...ids]);
  }
  for (const service of services.reverse()) await service.stop();
  await user?.remove();
  if (runtimeDir) await rm(runtimeDir, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
}, SETUP_TIMEOUT_MS);

describe("rootless: nerdctld as a user, on that user's rootless containerd", () => {
  it("serves the user's docker CLI on $XDG_RUNTIME_DIR/nerdctl.sock, from the user's own engine", async () => {
    const version = await dockerAsUser(["version", "--format", "{{.Server.Platform.Name}}|{{range .Server.Components}}{{.Name}} {{end}}"]);
    expect(version.stderr).toBe("");
    expect(version.stdout).toMatch(/^nerdctld \S+ \(containerd\)\|.*\brootlesskit\b/);
  });

  it("runs docker run --rm busybox echo hi", async () => {
    const run = await dockerAsUser(["run", "--rm", "busybox", "echo", "hi"]);
    expect(run).toMatchObject({ exitCode: 0, stdout: "hi" });
  });

  it("lists the user's running container in docker ps; its process is the user's, not root's", async () => {
    const started = await dockerAsUser(["run", "--detach", "--name", "rl-web", "busybox", "sleep", "600"]);
    expect(started.exitCode).toBe(0);
    const ps = await dockerAsUser(["ps", "--format", "{{.Names}} {{.Image}}"]);
    expect(ps).toMatchObject({ exitCode: 0, stdout: "rl-web busybox" });

    const pid = await dockerAsUser(["inspect", "--format", "{{.State.Pid}}", "rl-web"]);
    const status = await readFile(`/proc/${String(pid.stdout).trim()}/status`, "utf8");
    expect(status).toMatch(/^Name:\s+sleep$/m);
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(String(user!.uid));

    expect(await dockerAsUser(["rm", "--force", "rl-web"])).toMatchObject({ exitCode: 0 });
  });

  it("builds with docker build (buildx, the user's buildkitd), and the image runs", async () => {
    await writeUserFile("context/Dockerfile", "FROM busybox\nRUN echo built-rootless > /built\nCOPY note /note\n");
    await writeUserFile("context/note", "from the context\n");
    const build = await dockerAsUser(["build", "--tag", "rl-built", "context"], { cwd: user!.home });
    expect(build.exitCode, String(build.stderr)).toBe(0);
    const run = await dockerAsUser(["run", "--rm", "rl-built", "cat", "/built", "/note"]);
    expect(run).toMatchObject({ exitCode: 0, stdout: "built-rootless\nfrom the context" });
  });
});
