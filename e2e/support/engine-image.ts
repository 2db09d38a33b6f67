/**
 * The base image of the engine container, made without any registry: a
 * debootstrap'd Debian bookworm imported into the Docker engine. Only the
 * system packages the engine needs at run time are in it; the engine binaries,
 * the project and node are bind-mounted read-only when the container runs, so
 * the image changes only when the package list does (its tag hashes the list).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { dockerCli, dockerCliEnv } from "./dockerd.ts";

export const ENGINE_IMAGE_SUITE = "bookworm";
/**
 * What the managed engine and nerdctld call inside the container besides the
 * mounted binaries: runc's libseccomp, the CNI plugins and the iptables they
 * drive, ip and unshare (default-network recovery), umount (data removal),
 * tini (PID 1: forwards SIGTERM, reaps the orphaned shims), libstdc++ for node.
 */
export const ENGINE_IMAGE_PACKAGES = [
  "ca-certificates",
  "containernetworking-plugins",
  "iproute2",
  "iptables",
  "kmod",
  "libseccomp2",
  "libstdc++6",
  "mount",
  "procps",
  "tini",
  "util-linux",
];
/** Bump when the build steps change in a way the package list does not show. */
const RECIPE_VERSION = "1";
const CACHE_DIR = "/var/cache/nerdctld-test";
const IMAGE_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The node binary mounted into the engine container (checked against the image's libraries). */
export const HOST_NODE = "/usr/bin/node";

export function engineImageTag(packages: readonly string[] = ENGINE_IMAGE_PACKAGES): string {
  const recipe = JSON.stringify({ suite: ENGINE_IMAGE_SUITE, variant: "minbase", packages: [...packages].sort(), RECIPE_VERSION });
  return `nerdctld-engine-base:${ENGINE_IMAGE_SUITE}-${createHash("sha256").update(recipe).digest("hex").slice(0, 12)}`;
}

function progress(message: string): void {
  console.error(`nerdctld e2e: ${message}`);
}

/** Runs a long command with its output on our stderr, so the first (slow) build shows progress. */
function runVisible(file: string, args: string[], env?: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", 2, 2], env: { ...process.env, ...env } });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(" ")} failed (${code ?? signal})`)),
    );
  });
}

/**
 * The Debian mirror apt on this machine uses for bookworm (the only one
 * reachable from here), from deb822 .sources files or one-line lists.
 */
export function debianMirror(sources: string[]): string | null {
  for (const text of sources) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (suites.includes(ENGINE_IMAGE_SUITE) && uris[0]) return uris[0];
    }
    for (const line of text.split("\n")) {
      const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (match?.[2] === ENGINE_IMAGE_SUITE) return match[1]!;
    }
  }
  return null;
}

async function aptSources(): Promise<string[]> {
  const files = ["/etc/apt/sources.list"];
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) {
    for (const name of (await readdir(dir)).sort()) {
      if (name.endsWith(".list") || name.endsWith(".sources")) files.push(join(dir, name));
    }
  }
  const texts = await Promise.all(files.map((file) => readFile(file, "utf8").catch(() => "")));
  return texts.filter(Boolean);
}

/** debootstrap into a scratch dir, then one tarball of the rootfs (what `docker import` takes). */
async function buildRootfsTarball(tarball: string, packages: readonly string[]): Promise<void> {
  const mirror = debianMirror(await aptSources()) ?? "http://deb.debian.org/debian";
  await mkdir(CACHE_DIR, { recursive: true });
  const rootfs = await mkdtemp(join(CACHE_DIR, "rootfs-"));
  try {
    progress(`debootstrap ${ENGINE_IMAGE_SUITE} from ${mirror} (minutes, first time only)`);
    await runVisible("debootstrap", [
      "--variant=minbase",
      `--include=${packages.join(",")}`,
      ENGINE_IMAGE_SUITE,
      rootfs,
      mirror,
    ]);
    // Package downloads and indexes are dead weight in the image.
    await rm(join(rootfs, "var/cache/apt/archives"), { recursive: true, force: true });
    await rm(join(rootfs, "var/lib/apt/lists"), { recursive: true, force: true });
    await mkdir(join(rootfs, "var/cache/apt/archives/partial"), { recursive: true });
    await mkdir(join(rootfs, "var/lib/apt/lists/partial"), { recursive: true });
    progress(`packing the rootfs into ${tarball}`);
    const partial = `${tarball}.${process.pid}.partial`;
    await execa("tar", ["-C", rootfs, "--numeric-owner", "--xattrs", "-cf", partial, "."]);
    await rename(partial, tarball);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

async function imageId(docker: { dockerHost: string }, tag: string): Promise<string | null> {
  const result = await execa(dockerCli(), ["image", "inspect", "--format", "{{.Id}}", tag], {
    env: dockerCliEnv(docker.dockerHost),
    reject: false,
  });
  return result.exitCode === 0 ? String(result.stdout).trim() : null;
}

/**
 * The host's node is mounted into the image: its glibc and libstdc++ must be
 * new enough. `ldd` inside the image says so; the verdict is remembered per
 * node binary and image, since the check costs a container start.
 */
async function checkNodeRunsIn(docker: { dockerHost: string }, tag: string, id: string): Promise<void> {
  const node = await stat(HOST_NODE);
  const marker = join(CACHE_DIR, `${tag.replace(/[^A-Za-z0-9.-]/g, "_")}.node-ok`);
  const fingerprint = `${id} ${node.size} ${node.mtimeMs}\n`;
  if ((await readFile(marker, "utf8").catch(() => "")) === fingerprint) return;
  const result = await execa(
    dockerCli(),
    ["run", "--rm", "-v", `${HOST_NODE}:${HOST_NODE}:ro`, "--entrypoint", "/bin/sh", tag, "-c", `ldd ${HOST_NODE} && ${HOST_NODE} -e 0`],
    { env: dockerCliEnv(docker.dockerHost), reject: false, all: true },
  );
  const output = String(result.all);
  if (result.exitCode !== 0 || /not found/.test(output)) {
    throw new Error(`${HOST_NODE} cannot run in ${tag} (its libraries are too old or missing):\n${output}`);
  }
  await mkdir(CACHE_DIR, { recursive: true });
  await writeFile(marker, fingerprint);
}

/**
 * The tag of the engine base image in the given Docker engine, importing it
 * first when missing (from the cached rootfs tarball, or debootstrap'ing one).
 */
export async function ensureEngineImage(docker: { dockerHost: string }): Promise<string> {
  const tag = engineImageTag();
  let id = await imageId(docker, tag);
  if (id === null) {
    const started = Date.now();
    const tarball = join(CACHE_DIR, `${tag.replace(":", "-")}.tar`);
    if (!existsSync(tarball)) await buildRootfsTarball(tarball, ENGINE_IMAGE_PACKAGES);
    progress(`importing ${tarball} as ${tag}`);
    await runVisible(
      dockerCli(),
      [
        "import",
        "--change", `ENV ${IMAGE_PATH_ENV}`,
        "--change", `LABEL org.nerdctld.test.packages=${ENGINE_IMAGE_PACKAGES.join(",")}`,
        "--message", "nerdctld e2e engine base (debootstrap)",
        tarball,
        tag,
      ],
      dockerCliEnv(docker.dockerHost),
    );
    id = await imageId(docker, tag);
    if (id === null) throw new Error(`docker import reported success but ${tag} is missing`);
    progress(`${tag} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  await checkNodeRunsIn(docker, tag, id);
  return tag;
}
