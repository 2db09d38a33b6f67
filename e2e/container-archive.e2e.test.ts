/**
 * docker cp against the daemon, both ways, for running and stopped
 * containers, and its confinement: nothing a container holds (links to host
 * paths) and nothing an archive holds (`..`, absolute names, links) may read
 * or write outside the container's root. Host paths are checked on the
 * machine the daemon runs on (the engine container, or this host).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { packTar, type TarEntry } from "../lib/archive/tar-writer.ts";
import { REPO_ROOT } from "./support/daemon.ts";
import { engineNerdctl, type EngineAccess } from "./support/engine-client.ts";
import { dockerIn, MATRIX } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";
import { listTar } from "./support/tar.ts";

const dockerHost = inject("dockerHost");
const engine: EngineAccess = inject("engine");

/** A shell script run where the daemon runs: its /tmp is the host the containers must not reach. */
async function onDaemonHost(script: string): Promise<string> {
  const result =
    engine.kind === "host"
      ? await execa("sh", ["-c", script], { reject: false })
      : await execa(engine.docker, ["exec", engine.containerId, "sh", "-c", script], {
          env: { DOCKER_HOST: engine.dockerHost, DOCKER_CONFIG: "/tmp/nerdctld-e2e-docker-config" },
          reject: false,
        });
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return String(result.stdout);
}

/**
 * The daemon's peak resident memory (KiB) while work runs, sampled on its
 * host every 200 ms, and what it was before.
 */
async function daemonMemoryDuring(tag: string, work: () => Promise<void>): Promise<{ before: number; peak: number }> {
  const out = `/tmp/nerdctld-cp-rss-${tag}`;
  // "[n]" keeps the pattern from matching this script's own command line.
  const daemon = `pgrep -f '${join(REPO_ROOT, "dist", "bin", "[n]erdctld.js")}' | head -n 1`;
  const rss = 'awk "/^VmRSS/ {print \\$2}" /proc/$pid/status';
  const before = Number(await onDaemonHost(`pid=$(${daemon}); ${rss}`));
  const sampler = onDaemonHost(
    `rm -f ${out}.stop; pid=$(${daemon}); peak=0; end=$(( $(date +%s) + 300 ));` +
      ` while [ ! -e ${out}.stop ] && [ $(date +%s) -lt $end ]; do r=$(${rss}); [ "$r" -gt "$peak" ] && peak=$r; echo $peak > ${out}; sleep 0.2; done`,
  );
  try {
    await work();
  } finally {
    await onDaemonHost(`touch ${out}.stop`);
    await sampler;
  }
  const peak = Number(await onDaemonHost(`cat ${out}; rm -f ${out} ${out}.stop`));
  return { before, peak };
}

/** An archive as the docker CLI's stdin takes it from a test (ASCII only, so text is bytes). */
async function tarText(entries: TarEntry[]): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of packTar(entries)) chunks.push(chunk);
  return Buffer.concat(chunks).toString("latin1");
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const GIB = 1024 * 1024 * 1024;

describe.each(MATRIX)("$title", (cell) => {
  const docker = (...args: string[]) => dockerIn(cell, dockerHost, args);
  const dockerWithInput = (input: string, ...args: string[]) => dockerIn(cell, dockerHost, args, input);
  const nerdctl = async (...args: string[]) => {
    const result = await engineNerdctl(args, { namespace: cell.namespace });
    expect(result.exitCode, `nerdctl ${args.join(" ")}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const tag = cell.cli.replace(/[^a-z0-9]/gi, "");
  const running = `cp-run-${tag}`;
  const created = `cp-new-${tag}`;
  const exited = `cp-exited-${tag}`;
  const trap = `cp-trap-${tag}`;
  const outside = `/tmp/nerdctld-cp-outside-${tag}-${cell.namespace}`;
  const old = cell.cli === "docker-20.10";
  /** What each CLI prints for a 404 of the archive endpoints: 20.10 words it itself. */
  const notFound = (container: string, path: string, message: string) => (old ? `Error: No such container:path: ${container}:${path}` : `Error response from daemon: ${message}`);
  let local: string;

  beforeAll(async () => {
    await seedNamespace(cell.namespace);
    for (const name of [running, created, exited, trap]) await engineNerdctl(["rm", "--force", name], { namespace: cell.namespace });
    await nerdctl("run", "--detach", "--name", running, "busybox", "sleep", "3600");
    await nerdctl("create", "--name", created, "busybox", "sleep", "3600");
    await nerdctl("run", "--name", exited, "busybox", "sh", "-c", "cat /root/hello.txt 2>/dev/null; true");
    await nerdctl("create", "--name", trap, "busybox", "sleep", "3600");
    await onDaemonHost(`rm -rf ${outside} && mkdir -p ${outside} && echo host-secret > ${outside}/secret`);
    local = await mkdtemp(join(tmpdir(), "nerdctld-cp-"));
    await writeFile(join(local, "hello.txt"), "hello from the host\n");
    await mkdir(join(local, "dir", "sub"), { recursive: true });
    await writeFile(join(local, "dir", "a.txt"), "a\n");
    await writeFile(join(local, "dir", "sub", "b.txt"), "b\n");
    await symlink("a.txt", join(local, "dir", "ln"));
  });

  afterAll(async () => {
    await engineNerdctl(["rm", "--force", running, created, exited, trap], { namespace: cell.namespace });
    await onDaemonHost(`rm -rf ${outside}`);
    await rm(local, { recursive: true, force: true });
  });

  it("docker cp a file", async () => {
    expect((await docker("cp", join(local, "hello.txt"), `${running}:/tmp/`)).exitCode).toBe(0);
    expect(await nerdctl("exec", running, "cat", "/tmp/hello.txt")).toBe("hello from the host");
    expect((await docker("cp", join(local, "hello.txt"), `${running}:/tmp/renamed.txt`)).exitCode).toBe(0);
    expect(await nerdctl("exec", running, "cat", "/tmp/renamed.txt")).toBe("hello from the host");
    const out = await docker("cp", `${running}:/etc/hostname`, join(local, "hostname"));
    expect(out.exitCode, out.stderr).toBe(0);
    expect(await readFile(join(local, "hostname"), "utf8")).toBe(`${await nerdctl("exec", running, "cat", "/etc/hostname")}\n`);
  });

  it("docker cp a directory, with and without /.", async () => {
    expect((await docker("cp", join(local, "dir"), `${running}:/tmp/`)).exitCode).toBe(0);
    expect((await nerdctl("exec", running, "find", "/tmp/dir")).split("\n").sort()).toEqual(["/tmp/dir", "/tmp/dir/a.txt", "/tmp/dir/ln", "/tmp/dir/sub", "/tmp/dir/sub/b.txt"]);
    await nerdctl("exec", running, "mkdir", "-p", "/tmp/into");
    expect((await docker("cp", `${join(local, "dir")}/.`, `${running}:/tmp/into`)).exitCode).toBe(0);
    expect((await nerdctl("exec", running, "find", "/tmp/into")).split("\n").sort()).toEqual(["/tmp/into", "/tmp/into/a.txt", "/tmp/into/ln", "/tmp/into/sub", "/tmp/into/sub/b.txt"]);

    expect((await docker("cp", `${running}:/tmp/dir`, join(local, "out1"))).exitCode).toBe(0);
    expect((await readdir(join(local, "out1"))).sort()).toEqual(["a.txt", "ln", "sub"]);
    await mkdir(join(local, "out2"));
    expect((await docker("cp", `${running}:/tmp/dir/.`, join(local, "out2"))).exitCode).toBe(0);
    expect((await docker("cp", `${running}:/tmp/dir`, join(local, "out2"))).exitCode).toBe(0);
    expect((await readdir(join(local, "out2"))).sort()).toEqual(["a.txt", "dir", "ln", "sub"]);
    expect(await readFile(join(local, "out2", "dir", "sub", "b.txt"), "utf8")).toBe("b\n");
  });

  it("docker cp a symbolic link, and docker cp -L", async () => {
    expect((await docker("cp", join(local, "dir", "ln"), `${running}:/tmp/`)).exitCode).toBe(0);
    expect(await nerdctl("exec", running, "readlink", "/tmp/ln")).toBe("a.txt");
    await mkdir(join(local, "links"));
    expect((await docker("cp", `${running}:/bin/sh`, join(local, "links"))).exitCode).toBe(0);
    expect(await readlink(join(local, "links", "sh"))).toBe("busybox");
    expect((await docker("cp", "-L", `${running}:/bin/sh`, join(local, "links", "followed"))).exitCode).toBe(0);
    const followed = await lstat(join(local, "links", "followed"));
    expect(followed.isFile()).toBe(true);
    expect(String(followed.size)).toBe(await nerdctl("exec", running, "stat", "-c", "%s", "/bin/busybox"));
  });

  it("docker cp - (a tar on stdin and on stdout)", async () => {
    const input = await tarText([{ type: "file", name: "stdin.txt", content: Buffer.from("from stdin\n") }]);
    const sent = await dockerWithInput(input, "cp", "-", `${running}:/tmp`);
    expect(sent.exitCode, sent.stderr).toBe(0);
    expect(await nerdctl("exec", running, "cat", "/tmp/stdin.txt")).toBe("from stdin");
    const refused = await dockerWithInput(input, "cp", "-", `${running}:/etc/hostname`);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(`destination "${running}:/etc/hostname" must be a directory`);

    const out = await docker("cp", `${running}:/tmp/stdin.txt`, "-");
    expect(out.exitCode, out.stderr).toBe(0);
    const entries = await listTar(Buffer.from(out.stdout, "latin1"));
    expect(entries.map((entry) => [entry.name, entry.type, entry.data?.toString()])).toEqual([["stdin.txt", "file", "from stdin\n"]]);
  });

  it("docker cp into and out of a created and an exited container", async () => {
    expect((await docker("cp", join(local, "hello.txt"), `${created}:/tmp/`)).exitCode).toBe(0);
    expect((await docker("cp", join(local, "dir"), `${created}:/tmp/`)).exitCode).toBe(0);
    expect((await docker("cp", join(local, "hello.txt"), `${exited}:/root/`)).exitCode).toBe(0);
    expect((await docker("cp", `${created}:/tmp/dir/sub/b.txt`, join(local, "b-from-created"))).exitCode).toBe(0);
    expect(await readFile(join(local, "b-from-created"), "utf8")).toBe("b\n");
    // What was written is in the containers' own filesystems: they see it once started.
    await nerdctl("start", created);
    expect(await nerdctl("exec", created, "cat", "/tmp/hello.txt")).toBe("hello from the host");
    expect(await nerdctl("start", "--attach", exited)).toBe("hello from the host");
    // The private mounts of the stopped containers left nothing mounted on the daemon's host.
    expect(await onDaemonHost("grep -c nerdctld-archive /proc/self/mountinfo || true")).toBe("0");
  });

  it("docker cp a 1 GiB file both ways", async () => {
    const big = join(local, "big");
    const handle = await open(big, "w");
    await handle.write(createHash("sha512").update(tag).digest().toString("hex").repeat(1024));
    await handle.truncate(GIB);
    await handle.close();
    try {
      const memory = await daemonMemoryDuring(tag, async () => {
        const sent = await docker("cp", big, `${running}:/tmp/big`);
        expect(sent.exitCode, sent.stderr).toBe(0);
        const back = await docker("cp", `${running}:/tmp/big`, join(local, "big-back"));
        expect(back.exitCode, back.stderr).toBe(0);
      });
      // Streamed both ways: the daemon holds chunks, never the file.
      expect(memory.peak).toBeGreaterThan(0);
      expect(memory.peak - memory.before).toBeLessThan(256 * 1024);
      const expected = await sha256(big);
      expect((await nerdctl("exec", running, "sha256sum", "/tmp/big")).split(" ")[0]).toBe(expected);
      expect((await stat(join(local, "big-back"))).size).toBe(GIB);
      expect(await sha256(join(local, "big-back"))).toBe(expected);
    } finally {
      await rm(big, { force: true });
      await rm(join(local, "big-back"), { force: true });
      await engineNerdctl(["exec", running, "rm", "-f", "/tmp/big"], { namespace: cell.namespace });
    }
  });

  it("docker cp of a missing path, and into a missing directory", async () => {
    const missing = await docker("cp", `${running}:/nosuch`, join(local, "nosuch"));
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr.trim()).toBe(notFound(running, "/nosuch", `Could not find the file /nosuch in container ${running}`));
    const into = await docker("cp", join(local, "hello.txt"), `${running}:/nosuchdir/x`);
    expect(into.exitCode).not.toBe(0);
    expect(into.stderr).toContain(notFound(running, "/nosuchdir", `Could not find the file /nosuchdir in container ${running}`));
  });

  it("docker cp with a missing container", async () => {
    const result = await docker("cp", "cp-nosuch:/etc", join(local, "nosuch"));
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr.trim()).toBe(notFound("cp-nosuch", "/etc", "No such container: cp-nosuch"));
  });

  it("docker cp through the container's links, and archives that climb out, stay in the container", async () => {
    // The running container's own links to the host's paths, and the same directory inside it.
    await nerdctl("exec", running, "sh", "-c", `mkdir -p ${outside} && ln -sfn /../../../..${outside} /data && ln -sfn ${outside} /etc/x`);
    // The created one gets the same links from an archive: absolute link targets are the container's own paths.
    const links = await tarText([
      { type: "symlink", name: "data", target: `/../../../..${outside}` },
      { type: "symlink", name: "etc/x", target: outside },
      { type: "directory", name: outside.slice(1) },
    ]);
    expect((await dockerWithInput(links, "cp", "-", `${trap}:/`)).exitCode).toBe(0);

    for (const container of [running, trap]) {
      const read = await docker("cp", `${container}:/data/secret`, join(local, `stolen-${container}`));
      expect(read.exitCode).not.toBe(0);
      expect(read.stderr.trim()).toBe(notFound(container, "/data/secret", `Could not find the file /data/secret in container ${container}`));
      const listed = await docker("cp", `${container}:/etc/x/.`, join(local, `listed-${container}`));
      expect(listed.exitCode, listed.stderr).toBe(0);
      expect(await readdir(join(local, `listed-${container}`))).toEqual([]);
      expect((await docker("cp", join(local, "hello.txt"), `${container}:/data/`)).exitCode).toBe(0);
      expect((await docker("cp", join(local, "hello.txt"), `${container}:/etc/x/planted.txt`)).exitCode).toBe(0);
      const back = await docker("cp", `${container}:${outside}/planted.txt`, join(local, `planted-${container}`));
      expect(back.exitCode, back.stderr).toBe(0);
      expect(await readFile(join(local, `planted-${container}`), "utf8")).toBe("hello from the host\n");
    }
    expect(await nerdctl("exec", running, "cat", `${outside}/hello.txt`)).toBe("hello from the host");

    const escape = await dockerWithInput(await tarText([{ type: "file", name: "../../../escape.txt", content: Buffer.from("x") }]), "cp", "-", `${running}:/tmp`);
    expect(escape.exitCode).not.toBe(0);
    expect(escape.stderr).toContain('"../../../escape.txt" is outside of "/tmp"');
    const hardlink = await dockerWithInput(await tarText([{ type: "hardlink", name: "stolen", target: "../../etc/passwd" }]), "cp", "-", `${running}:/tmp`);
    expect(hardlink.exitCode).not.toBe(0);
    expect(hardlink.stderr).toContain('invalid hardlink "/etc/passwd" -> "../../etc/passwd"');
    // A hard link through a link to "/": the container's own path, where the host's file is not.
    const linked = await tarText([
      { type: "symlink", name: "root", target: "/" },
      { type: "hardlink", name: "stolen", target: `root${outside}/secret` },
    ]);
    expect((await dockerWithInput(linked, "cp", "-", `${running}:/tmp`)).exitCode).not.toBe(0);
    const through = await tarText([
      { type: "symlink", name: "esc", target: "/" },
      { type: "file", name: `esc/tmp/through-${tag}.txt`, content: Buffer.from("through a link\n") },
      { type: "file", name: `/abs-${tag}.txt`, content: Buffer.from("absolute\n") },
    ]);
    for (const container of [running, trap]) expect((await dockerWithInput(through, "cp", "-", `${container}:/tmp`)).exitCode).toBe(0);
    expect(await nerdctl("exec", running, "cat", `/tmp/through-${tag}.txt`, `/tmp/abs-${tag}.txt`)).toBe("through a link\nabsolute");

    // The daemon's host: the directory the links name is as it was, nothing landed where the archives aimed.
    expect(await onDaemonHost(`ls -A ${outside}; cat ${outside}/secret; stat -c %h ${outside}/secret`)).toBe("secret\nhost-secret\n1");
    expect(await onDaemonHost(`ls -d /tmp/through-${tag}.txt /abs-${tag}.txt /escape.txt /tmp/escape.txt 2>/dev/null || true`)).toBe("");
  });
});
