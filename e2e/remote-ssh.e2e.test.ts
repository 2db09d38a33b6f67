/**
 * DOCKER_HOST=ssh://user@host against a host with nerdctld and no docker CLI:
 * Debian's sshd on a loopback port (a host key and a user key made for the
 * run), a user whose PATH has the package's `docker` (deploy/ssh/docker) and
 * nerdctld, and the docker CLI on this side running `docker system
 * dial-stdio` through ssh, as it does against a dockerd host.
 */
import { chmod, chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, connect, type Server, type AddressInfo } from "node:net";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { docker } from "./support/docker-cli.ts";
import { packAndInstall, startProcess, type InstalledPackage, type RunningProcess } from "./support/installed.ts";
import { createUser, type TestUser } from "./support/users.ts";

const DOCKER = "/usr/local/bin/docker";
const SETUP_TIMEOUT_MS = 600_000;
/** The daemon under test (through the conformance proxy), as root reaches it. */
const daemonSocket = inject("dockerHost").replace(/^unix:\/\//, "");

let work: string;
let installed: InstalledPackage;
let user: TestUser | undefined;
let sshd: RunningProcess | undefined;
let relay: Server | undefined;
let port: number;
/** The user's runtime directory, where nerdctld's socket is for a user who is not root. */
let runtimeDir: string;

/** A port free on loopback now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: free } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return free;
}

/**
 * The daemon's socket as the ssh user's own (mode 0600, the user's): bytes are
 * relayed as they are to the daemon under test, which root's e2e run owns.
 */
async function userSocket(path: string, owner: TestUser): Promise<Server> {
  // Half-open both ways, as the daemon's own socket is: the docker CLI ends its side of an attach at once, and the
  // container's output must still come back.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ path: daemonSocket, allowHalfOpen: true });
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  await chmod(path, 0o600);
  await chown(path, owner.uid, owner.gid);
  return server;
}

/** ssh as the docker CLI runs it, with the run's key and known_hosts. */
const sshClient = () => join(work, "client-bin", "ssh");

/** The docker CLI on this side, against DOCKER_HOST=ssh://… */
const dockerOverSsh = (dockerHost: string, args: string[]) =>
  docker(DOCKER, dockerHost, args, undefined, { PATH: `${join(work, "client-bin")}:${process.env.PATH}` });

beforeAll(async () => {
  // Short, and passable by the ssh user (its home and runtime dir are inside).
  work = await mkdtemp("/tmp/nds-");
  await chmod(work, 0o711);
  installed = await packAndInstall(work);
  user = await createUser("ndssh", join(work, "home"));
  // No password, yet not locked: sshd refuses a locked account ("!", useradd's default) even a key.
  await execa("usermod", ["--password", "*", user.name]);

  runtimeDir = join(work, "xdg");
  await mkdir(runtimeDir, { mode: 0o700 });
  await chown(runtimeDir, user.uid, user.gid);
  relay = await userSocket(join(runtimeDir, "nerdctl.sock"), user);

  // The host without a docker CLI: the package's `docker` and nerdctld on the user's PATH, nothing else of Docker's.
  const userBin = join(work, "bin");
  await mkdir(userBin, { mode: 0o755 });
  await symlink(join(installed.packageDir, "deploy", "ssh", "docker"), join(userBin, "docker"));
  const userPath = `${userBin}:${installed.prefix}/bin:/usr/bin:/bin`;

  for (const key of ["host_key", "client_key"]) {
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", key, "-f", join(work, key)]);
  }
  const sshDir = join(user.home, ".ssh");
  await mkdir(sshDir, { mode: 0o700 });
  await writeFile(join(sshDir, "authorized_keys"), await readFile(join(work, "client_key.pub")), { mode: 0o600 });
  for (const path of [sshDir, join(sshDir, "authorized_keys")]) await chown(path, user.uid, user.gid);

  port = await freePort();
  // sshd's privilege separation directory, which its service unit makes.
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const config = join(work, "sshd_config");
  await writeFile(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(work, "host_key")}`,
      `PidFile ${join(work, "sshd.pid")}`,
      "AuthorizedKeysFile .ssh/authorized_keys",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      `AllowUsers ${user.name}`,
      // What a login on such a host has: PATH with nerdctld, and the runtime dir pam_systemd would set.
      `SetEnv PATH=${userPath} XDG_RUNTIME_DIR=${runtimeDir}`,
      "",
    ].join("\n"),
  );
  const hostKey = (await readFile(join(work, "host_key.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
  await writeFile(join(work, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
  await writeFile(
    join(work, "ssh_config"),
    [
      "Host 127.0.0.1",
      `  IdentityFile ${join(work, "client_key")}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${join(work, "known_hosts")}`,
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
      "",
    ].join("\n"),
  );
  await mkdir(join(work, "client-bin"));
  await writeFile(sshClient(), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(work, "ssh_config")} "$@"\n`, { mode: 0o755 });

  sshd = await startProcess("/usr/sbin/sshd", ["-D", "-e", "-f", config], {
    logFile: join(work, "sshd.log"),
    ready: async () => (await readFile(join(work, "sshd.log"), "utf8").catch(() => "")).includes(`Server listening on 127.0.0.1 port ${port}`),
  });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await sshd?.stop();
  await new Promise((resolve) => (relay ? relay.close(resolve) : resolve(undefined)));
  await user?.remove();
  if (work) await rm(work, { recursive: true, force: true });
}, SETUP_TIMEOUT_MS);

describe("DOCKER_HOST=ssh://user@host, the host running nerdctld and the package's docker", () => {
  const sshHost = () => `ssh://${user!.name}@127.0.0.1:${port}`;

  it("serves docker ps: the daemon's containers, as the daemon's socket lists them", async () => {
    const format = ["ps", "--all", "--format", "{{.Names}} {{.State}}"];
    const overSsh = await dockerOverSsh(sshHost(), format);
    expect(overSsh.stderr).toBe("");
    expect(overSsh.exitCode).toBe(0);
    expect(overSsh.stdout).toMatch(/^web running$/m);
    const direct = await docker(DOCKER, `unix://${daemonSocket}`, format);
    expect(overSsh.stdout.split("\n").sort()).toEqual(direct.stdout.split("\n").sort());
  });

  it("serves docker run --rm: the container's output comes back through ssh", async () => {
    const run = await dockerOverSsh(sshHost(), ["run", "--rm", "busybox", "echo", "hi"]);
    expect(run).toMatchObject({ exitCode: 0, stdout: "hi" });
  });

  it("dials the socket the URL's path names (docker --host=unix://PATH system dial-stdio)", async () => {
    const named = await dockerOverSsh(`${sshHost()}${join(runtimeDir, "nerdctl.sock")}`, ["version", "--format", "{{.Server.Platform.Name}}"]);
    expect(named).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^nerdctld \S+ \(containerd\)$/) });

    const missing = join(runtimeDir, "none.sock");
    const nothing = await dockerOverSsh(`${sshHost()}${missing}`, ["version", "--format", "{{.Server.Platform.Name}}"]);
    expect(nothing.exitCode).not.toBe(0);
    expect(nothing.stderr).toMatch(/ENOENT.*none\.sock/);
  });

  it("refuses any other docker command on the host, saying what it answers", async () => {
    const refused = await execa(sshClient(), ["-p", String(port), `${user!.name}@127.0.0.1`, "docker", "ps"], { reject: false, stdin: "ignore" });
    expect(refused.exitCode).toBe(125);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/this host has no docker CLI, only nerdctld: `docker system dial-stdio`/);
  });
});
