import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { packTar, type TarEntry } from "../lib/archive/tar-writer.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { pushBusybox, startEngineRegistry, type EngineRegistry } from "./support/engine-registry.ts";
import { MATRIX_PREFIX, NAMESPACES } from "./support/matrix.ts";
import { seedNamespace } from "./support/seed.ts";
import { listTar } from "./support/tar.ts";

/**
 * dockerode as a client of nerdctld: what its users do every day, through its
 * own API, in both namespaces (k8s.io through the modem's extra headers).
 */
const dockerHost = inject("dockerHost");
const socketPath = dockerHost.replace(/^unix:\/\//, "");
const major = (createRequire(import.meta.url)("dockerode/package.json") as { version: string }).version.split(".")[0];

let work: string;
let registry: EngineRegistry;
/** busybox in the local registry, pushed once for the pull scenarios. */
let remote: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-e2e-dockerode-"));
  registry = await startEngineRegistry({ label: "dockerode", work, dockerHost });
  remote = `${registry.host}/dockerode/busybox:v1`;
  await pushBusybox(dockerHost, remote);
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Everything a stream yields, as one buffer. */
async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A writable that keeps what it is given. */
function sink(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString() });
}

/** An in-memory tar archive, as a stream. */
function tarStream(entries: TarEntry[]): Readable {
  return Readable.from(packTar(entries));
}

interface ProgressEvent {
  status?: string;
  stream?: string;
  id?: string;
  error?: string;
  aux?: { ID?: string; Tag?: string; Digest?: string };
}

describe.each(NAMESPACES)(`${MATRIX_PREFIX} dockerode-${major} %s`, (namespace) => {
  const headers: Record<string, string> = namespace === "default" ? {} : { "X-Containerd-Namespace": namespace };
  const docker = new Docker({ socketPath, headers });
  const name = (what: string) => `e2e-dockerode-${what}-${namespace.replace(/\W/g, "")}`;
  const nerdctl = (args: string[]) => engineNerdctl(args, { namespace });
  const followProgress = (stream: NodeJS.ReadableStream) =>
    new Promise<ProgressEvent[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, output: ProgressEvent[]) => (error ? reject(error) : resolve(output))),
    );
  /** Splits a multiplexed stream (dockerode's demuxStream) into its stdout and stderr, once it ends. */
  const demuxed = async (stream: NodeJS.ReadableStream) => {
    const stdout = sink();
    const stderr = sink();
    const ended = finished(stream as Readable);
    docker.modem.demuxStream(stream, stdout, stderr);
    await ended;
    return { stdout: stdout.text(), stderr: stderr.text() };
  };
  /** Runs cmd in the container (exec create, start hijacked, inspect): its output and exit code. */
  const execIn = async (container: Docker.Container, cmd: string[], input?: string) => {
    const exec = await container.exec({ Cmd: cmd, AttachStdin: input !== undefined, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: input !== undefined });
    if (input !== undefined) stream.end(input);
    const output = await demuxed(stream);
    return { ...output, exitCode: (await exec.inspect()).ExitCode };
  };
  /** A container made with createContainer, removed (with its volumes) after the test. */
  const made: Docker.Container[] = [];
  const create = async (options: Docker.ContainerCreateOptions) => {
    const container = await docker.createContainer({ Image: "busybox", ...options });
    made.push(container);
    return container;
  };

  beforeAll(async () => {
    await seedNamespace(namespace);
  });

  afterAll(async () => {
    for (const container of made) await container.remove({ force: true, v: true }).catch(() => undefined);
  });

  it("ping, version, info", async () => {
    expect(String(await docker.ping())).toBe("OK");
    const version = await docker.version();
    expect(version).toMatchObject({ ApiVersion: "1.43", MinAPIVersion: "1.24", Os: "linux" });
    const info = await docker.info();
    expect(info.Images).toBeGreaterThan(0);
    expect(info.Containers).toBe(info.ContainersRunning + info.ContainersPaused + info.ContainersStopped);
  });

  it("API version: unversioned paths by default, or the version asked for", async () => {
    // dockerode sends no version unless told: the daemon's own (1.43) answers.
    expect((await docker.version()).ApiVersion).toBe("1.43");
    const pinned = new Docker({ socketPath, version: "v1.41", headers });
    expect((await pinned.listContainers({ all: true })).map((entry) => entry.Names[0])).toContain("/web");
    const tooNew = new Docker({ socketPath, version: "v1.99" });
    await expect(tooNew.version()).rejects.toMatchObject({ statusCode: 400 });
  });

  it("run: attached with a terminal (docker.run)", async () => {
    const output = sink();
    const [result, container] = (await docker.run("busybox", ["sh", "-c", "echo hello from run; exit 7"], output)) as [
      { StatusCode: number },
      Docker.Container,
    ];
    made.push(container);
    await finished(output);
    expect(result.StatusCode).toBe(7);
    expect(output.text()).toBe("hello from run\r\n");
  });

  it("run: attached without a terminal, stdout and stderr apart", async () => {
    const stdout = sink();
    const stderr = sink();
    const [result, container] = (await docker.run("busybox", ["sh", "-c", "echo out; echo err >&2"], [stdout, stderr], { Tty: false })) as [
      { StatusCode: number },
      Docker.Container,
    ];
    made.push(container);
    await Promise.all([finished(stdout), finished(stderr)]);
    expect(result.StatusCode).toBe(0);
    expect(stdout.text()).toBe("out\n");
    expect(stderr.text()).toBe("err\n");
  });

  it("create, start, inspect, stop, remove", async () => {
    const container = await create({ name: name("lifecycle"), Cmd: ["sleep", "3600"], Labels: { "e2e.client": "dockerode" } });
    expect((await container.inspect()).State.Status).toBe("created");
    await container.start();
    const running = await container.inspect();
    expect(running).toMatchObject({ Name: `/${name("lifecycle")}`, State: { Status: "running", Running: true }, Config: { Labels: { "e2e.client": "dockerode" } } });
    const listed = await docker.listContainers({ filters: { label: ["e2e.client=dockerode"] } });
    expect(listed.map((entry) => entry.Id)).toEqual([container.id]);
    await container.stop({ t: 1 });
    expect((await container.inspect()).State).toMatchObject({ Status: "exited", Running: false });
    await container.remove();
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("logs: followed as a stream, demultiplexed", async () => {
    const container = await create({ Cmd: ["sh", "-c", "echo out1; echo err1 >&2; sleep 1; echo out2"] });
    await container.start();
    expect(await demuxed(await container.logs({ follow: true, stdout: true, stderr: true }))).toEqual({ stdout: "out1\nout2\n", stderr: "err1\n" });
    // Without follow, dockerode hands back the frames in one buffer; stderr only here.
    const buffered = await container.logs({ follow: false, stdout: false, stderr: true });
    expect(await demuxed(Readable.from([buffered]))).toEqual({ stdout: "", stderr: "err1\n" });
  });

  it("attach: input in, output out, until the input ends", async () => {
    const container = await create({ Cmd: ["sh", "-c", "while read line; do echo \"got $line\"; done; echo bye >&2"], OpenStdin: true, StdinOnce: true });
    const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream;
    const output = demuxed(stream);
    await container.start();
    stream.write("one\n");
    stream.write("two\n");
    stream.end();
    expect(await container.wait()).toMatchObject({ StatusCode: 0 });
    expect(await output).toEqual({ stdout: "got one\ngot two\n", stderr: "bye\n" });
  });

  it("exec: demultiplexed output, input, exit code", async () => {
    const container = await create({ Cmd: ["sleep", "3600"] });
    await container.start();
    expect(await execIn(container, ["sh", "-c", "echo out; echo err >&2; exit 3"])).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 3 });
    expect(await execIn(container, ["wc", "-c"], "twelve bytes")).toEqual({ stdout: "12\n", stderr: "", exitCode: 0 });
  });

  it("putArchive, getArchive", async () => {
    const container = await create({ Cmd: ["sleep", "3600"] });
    await container.start();
    await container.putArchive(
      tarStream([
        { type: "directory", name: "conf", mode: 0o755 },
        { type: "file", name: "conf/app.ini", mode: 0o640, content: Buffer.from("[app]\nmode=test\n") },
      ]),
      { path: "/etc" },
    );
    expect(await execIn(container, ["stat", "-c", "%a %s", "/etc/conf/app.ini"])).toMatchObject({ stdout: "640 16\n", exitCode: 0 });
    const archive = await collect(await container.getArchive({ path: "/etc/conf" }));
    const entries = await listTar(archive);
    expect(entries.map((entry) => entry.name)).toEqual(["conf/", "conf/app.ini"]);
    expect(entries[1]).toMatchObject({ mode: 0o640, size: 16 });
    expect(entries[1]!.data?.toString()).toBe("[app]\nmode=test\n");
  });

  it("wait, kill", async () => {
    const container = await create({ Cmd: ["sleep", "3600"] });
    await container.start();
    const waited = container.wait();
    await container.kill({ signal: "SIGKILL" });
    expect(await waited).toMatchObject({ StatusCode: 137 });
    expect((await container.inspect()).State).toMatchObject({ Status: "exited", ExitCode: 137 });
  });

  it("stats: the first sample of the stream", async () => {
    const container = await create({ Cmd: ["sleep", "3600"] });
    await container.start();
    const stream = (await container.stats({ stream: true })) as unknown as Readable;
    const first = await new Promise<string>((resolve, reject) => {
      let text = "";
      stream.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("\n")) resolve(text.slice(0, text.indexOf("\n")));
      });
      stream.on("error", reject);
    });
    stream.destroy();
    const sample = JSON.parse(first) as Docker.ContainerStats & { id: string; name: string };
    expect(sample.id).toBe(container.id);
    expect(sample.memory_stats.usage).toBeGreaterThan(0);
    expect(sample.pids_stats?.current).toBe(1);
    expect(Date.parse(sample.read)).not.toBeNaN();
  });

  it("remove: a running container needs force", async () => {
    const container = await create({ Cmd: ["sleep", "3600"] });
    await container.start();
    await expect(container.remove()).rejects.toMatchObject({ statusCode: 409 });
    await container.remove({ force: true, v: true });
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("pull from a registry, with a progress stream", async () => {
    const events: ProgressEvent[] = [];
    const output = await new Promise<ProgressEvent[]>((resolve, reject) =>
      docker.pull(remote, (error: Error | null, stream: NodeJS.ReadableStream) => {
        if (error) return reject(error);
        docker.modem.followProgress(stream, (failed: Error | null, all: ProgressEvent[]) => (failed ? reject(failed) : resolve(all)), (event: ProgressEvent) => events.push(event));
      }),
    );
    try {
      expect(output).toEqual(events);
      expect(events[0]?.status).toBe(`Pulling from dockerode/busybox`);
      expect(events.map((event) => event.status)).toContain(`Status: Downloaded newer image for ${remote}`);
      expect(events.some((event) => /^Digest: sha256:[0-9a-f]{64}$/.test(event.status ?? ""))).toBe(true);
      expect((await docker.getImage(remote).inspect()).RepoTags).toContain(remote);
    } finally {
      await nerdctl(["rmi", remote]);
    }
  });

  it("build from an in-memory context (classic builder)", async () => {
    const tag = `${name("built")}:v1`;
    const context = tarStream([
      { type: "file", name: "Dockerfile", content: Buffer.from('FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN cat /greeting.txt > /copied\nLABEL e2e.client=dockerode\nCMD ["cat", "/copied"]\n') },
      { type: "file", name: "greeting.txt", content: Buffer.from("built by dockerode\n") },
    ]);
    const output = await followProgress(await docker.buildImage(context, { t: tag }));
    try {
      expect(output.filter((event) => event.error)).toEqual([]);
      const id = output.find((event) => event.aux?.ID)?.aux?.ID;
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(output.map((event) => event.stream ?? "").join("")).toContain(`Successfully tagged ${tag}`);
      const image = await docker.getImage(tag).inspect();
      expect(image).toMatchObject({ Id: id, Config: { Labels: { "e2e.client": "dockerode" } } });
      const out = sink();
      const [result, container] = (await docker.run(tag, [], [out, sink()], { Tty: false })) as [{ StatusCode: number }, Docker.Container];
      made.push(container);
      await finished(out);
      expect(result.StatusCode).toBe(0);
      expect(out.text()).toBe("built by dockerode\n");
    } finally {
      for (const container of made.splice(0)) await container.remove({ force: true }).catch(() => undefined);
      await nerdctl(["rmi", "--force", tag]);
    }
  });

  it("tag, then push to a registry", async () => {
    const repo = `${registry.host}/dockerode-${namespace.replace(/\W/g, "")}/pushed`;
    await docker.getImage("busybox").tag({ repo, tag: "v2" });
    try {
      expect((await docker.getImage(`${repo}:v2`).inspect()).RepoTags).toEqual(expect.arrayContaining(["busybox:latest", `${repo}:v2`]));
      const output = await followProgress(await docker.getImage(`${repo}:v2`).push({ authconfig: {} }));
      expect(output.filter((event) => event.error)).toEqual([]);
      expect(output.find((event) => event.aux)?.aux).toMatchObject({ Tag: "v2", Digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
      // What was pushed comes back.
      await docker.getImage(`${repo}:v2`).remove();
      await followProgress(await docker.pull(`${repo}:v2`));
      expect((await docker.getImage(`${repo}:v2`).inspect()).Id).toBe((await docker.getImage("busybox").inspect()).Id);
    } finally {
      await nerdctl(["rmi", `${repo}:v2`]);
    }
  });

  it("image save, then load", async () => {
    const tag = `${name("saved")}:v1`;
    await docker.getImage("busybox").tag({ repo: name("saved"), tag: "v1" });
    try {
      const archive = await collect(await docker.getImage(tag).get());
      expect((await listTar(archive)).map((entry) => entry.name)).toEqual(expect.arrayContaining(["manifest.json", "index.json"]));
      await docker.getImage(tag).remove();
      await expect(docker.getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
      const loaded = (await collect(await docker.loadImage(Readable.from([archive])))).toString();
      expect(loaded).toContain(`Loaded image: ${tag}`);
      expect((await docker.getImage(tag).inspect()).RepoTags).toContain(tag);
    } finally {
      await nerdctl(["rmi", tag]);
    }
  });

  it("image inspect, list", async () => {
    const image = await docker.getImage("busybox").inspect();
    expect(image).toMatchObject({ Os: "linux", RepoTags: expect.arrayContaining(["busybox:latest"]) });
    expect(image.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const listed = await docker.listImages({ filters: { reference: ["busybox"] } });
    expect(listed.map((entry) => entry.Id)).toEqual([image.Id]);
    await expect(docker.getImage("no-such-image:v0").inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("volumes: create, inspect, list, use, remove", async () => {
    const volume = await docker.createVolume({ Name: name("vol"), Labels: { "e2e.client": "dockerode" } });
    try {
      expect(await volume.inspect()).toMatchObject({ Name: name("vol"), Driver: "local", Scope: "local", Labels: { "e2e.client": "dockerode" } });
      const listed = await docker.listVolumes({ filters: { label: ["e2e.client=dockerode"] } });
      expect(listed.Volumes.map((entry) => entry.Name)).toEqual([name("vol")]);
      const writer = sink();
      const [written, first] = (await docker.run("busybox", ["sh", "-c", "echo kept > /data/file"], writer, { HostConfig: { Binds: [`${name("vol")}:/data`] } })) as [{ StatusCode: number }, Docker.Container];
      expect(written.StatusCode).toBe(0);
      const reader = sink();
      const [read, second] = (await docker.run("busybox", ["cat", "/data/file"], reader, { HostConfig: { Binds: [`${name("vol")}:/data`], AutoRemove: true } })) as [{ StatusCode: number }, Docker.Container];
      await finished(reader);
      expect(read.StatusCode).toBe(0);
      expect(reader.text()).toBe("kept\r\n");
      await expect(docker.getVolume(name("vol")).remove()).rejects.toMatchObject({ statusCode: 409 });
      await first.remove();
      await second.remove().catch(() => undefined);
    } finally {
      await docker.getVolume(name("vol")).remove();
    }
    await expect(docker.getVolume(name("vol")).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("networks: create, inspect, list, attach a container, remove", async () => {
    const created = await docker.createNetwork({ Name: name("net"), Labels: { "e2e.client": "dockerode" } });
    try {
      const network = await created.inspect();
      expect(network).toMatchObject({ Name: name("net"), Driver: "bridge", Labels: { "e2e.client": "dockerode" } });
      const listed = await docker.listNetworks({ filters: { label: ["e2e.client=dockerode"] } });
      expect(listed.map((entry) => entry.Name)).toEqual([name("net")]);
      const container = await create({ Cmd: ["sleep", "3600"], HostConfig: { NetworkMode: name("net") } });
      await container.start();
      const attached = (await container.inspect()).NetworkSettings.Networks[name("net")];
      expect(attached?.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      await container.remove({ force: true });
    } finally {
      await docker.getNetwork(name("net")).remove();
    }
    await expect(docker.getNetwork(name("net")).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("events: a container's life as it happens", async () => {
    const since = Math.floor(Date.now() / 1000);
    const stream = (await docker.getEvents({ since, filters: { type: ["container"], label: ["e2e.events=dockerode"] } })) as unknown as Readable;
    const seen: { Action: string; Actor: { Attributes: Record<string, string> } }[] = [];
    const died = new Promise<void>((resolve, reject) => {
      let text = "";
      stream.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n")) {
          seen.push(JSON.parse(text.slice(0, end)));
          text = text.slice(end + 1);
          if (seen.at(-1)!.Action === "die") resolve();
        }
      });
      stream.on("error", reject);
    });
    const container = await create({ name: name("events"), Cmd: ["true"], Labels: { "e2e.events": "dockerode" } });
    await container.start();
    await died;
    stream.destroy();
    expect(seen.map((event) => event.Action)).toEqual(expect.arrayContaining(["create", "start", "die"]));
    expect(seen[0]!.Actor.Attributes).toMatchObject({ name: name("events"), "e2e.events": "dockerode" });
  });
});
