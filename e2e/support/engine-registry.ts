/**
 * A registry for the e2e suites, inside the engine under test: Debian's
 * docker-registry as a container on the engine's host network, its image made
 * from the binary and the libraries it loads and imported through the daemon
 * (so it needs nothing from the provider but the daemon), on a random port of
 * the engine's loopback.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { docker, DOCKER_CLIS } from "./docker-cli.ts";
import { engineNerdctl } from "./engine-client.ts";
import { bcryptHash, DEFAULT_REGISTRY_BINARY } from "./registry.ts";
import { packTar, type TarEntry } from "../../lib/archive/tar-writer.ts";

export interface EngineRegistry {
  host: string;
  stop(): Promise<void>;
}

/** The registry binary and the shared libraries it loads, as rootfs entries. */
async function registryRootfs(port: number, htpasswd?: string): Promise<TarEntry[]> {
  const binary = DEFAULT_REGISTRY_BINARY;
  const libraries = execFileSync("ldd", [binary], { encoding: "utf8" })
    .split("\n")
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1] ?? /^\s*(\/\S+)/.exec(line)?.[1])
    .filter((path): path is string => Boolean(path));
  const directories = new Set<string>(["etc", "etc/registry", "var", "var/lib", "var/lib/registry", "tmp"]);
  const files: TarEntry[] = [];
  for (const path of [binary, ...libraries]) {
    const real = await realpath(path);
    const name = path.slice(1);
    for (let dir = name.slice(0, name.lastIndexOf("/")); dir; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/")))) directories.add(dir);
    files.push({ type: "file", name, mode: 0o755, content: createReadStream(real), size: (await stat(real)).size });
  }
  const config = {
    version: 0.1,
    log: { level: "info", formatter: "text" },
    storage: { filesystem: { rootdirectory: "/var/lib/registry" }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: "nerdctld-e2e" },
    ...(htpasswd ? { auth: { htpasswd: { realm: "nerdctld-e2e", path: "/etc/registry/htpasswd" } } } : {}),
  };
  files.push({ type: "file", name: "etc/registry/config.yml", content: Buffer.from(JSON.stringify(config)) });
  if (htpasswd) files.push({ type: "file", name: "etc/registry/htpasswd", content: Buffer.from(htpasswd) });
  return [...[...directories].sort().map((name): TarEntry => ({ type: "directory", name, mode: 0o755 })), ...files];
}

export async function startEngineRegistry(
  options: { label: string; work: string; dockerHost: string },
  htpasswd?: { user: string; password: string },
): Promise<EngineRegistry> {
  const { label, work, dockerHost } = options;
  const port = 20000 + Math.floor(Math.random() * 40000);
  const image = `nerdctld-e2e-registry-${label}:${port}`;
  const name = `nerdctld-e2e-registry-${label}-${port}`;
  const archive = join(work, `${label}-rootfs.tar`);
  const entries = await registryRootfs(port, htpasswd ? `${htpasswd.user}:${bcryptHash(htpasswd.password)}\n` : undefined);
  await pipeline(Readable.from(packTar(entries)), createWriteStream(archive));
  const imported = await docker(DOCKER_CLIS[0]!.path, dockerHost, ["import", archive, image]);
  if (imported.exitCode !== 0) throw new Error(`importing the registry image: ${imported.stderr}`);
  const started = await engineNerdctl(["run", "--detach", "--net", "host", "--name", name, image, "/usr/bin/docker-registry", "serve", "/etc/registry/config.yml"]);
  if (started.exitCode !== 0) throw new Error(`starting the registry: ${started.stderr}`);
  const stop = async () => {
    await engineNerdctl(["rm", "--force", name]);
    await engineNerdctl(["rmi", "--force", image]);
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    const logs = await engineNerdctl(["logs", name]);
    if (/listening on 127\.0\.0\.1/.test(logs.stdout + logs.stderr)) return { host: `127.0.0.1:${port}`, stop };
    if (/address already in use|level=fatal|panic/.test(logs.stdout + logs.stderr)) break;
    await sleep(100);
  }
  const logs = await engineNerdctl(["logs", name]);
  await stop();
  throw new Error(`the registry did not start:\n${logs.stdout}${logs.stderr}`);
}

/** Pushes the seeded busybox as `ref` through the daemon (tagged, pushed, untagged again); docker push's digest and size. */
export async function pushBusybox(dockerHost: string, ref: string, dockerConfig?: string): Promise<{ digest: string; size: number }> {
  const tagged = await engineNerdctl(["tag", "busybox", ref]);
  if (tagged.exitCode !== 0) throw new Error(`tag ${ref}: ${tagged.stderr}`);
  const result = await docker(DOCKER_CLIS[0]!.path, dockerHost, ["push", ref], undefined, dockerConfig ? { DOCKER_CONFIG: dockerConfig } : {});
  await engineNerdctl(["rmi", ref]);
  const match = /: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(result.stdout);
  if (result.exitCode !== 0 || !match) throw new Error(`push ${ref}: ${result.stderr}${result.stdout}`);
  return { digest: match[1]!, size: Number(match[2]) };
}
