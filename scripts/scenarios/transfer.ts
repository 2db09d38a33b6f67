/**
 * Image transfer: pull, push (plain and htpasswd registries), load, save,
 * import and commit, recorded through the daemon's own services
 * (lib/service/transfer.ts, image-save.ts). The registries are Debian's docker-registry on
 * random loopback ports, reached through forwarders on fixed ports so the
 * recorded argv (and the fixture file names) do not change between recordings.
 */
import { createReadStream } from "node:fs";
import { createServer, connect, type Server } from "node:net";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { writeBusyboxImage, writeLargeImage } from "../../e2e/support/images.ts";
import { packTar } from "../../lib/archive/tar-writer.ts";
import { startRegistry, type RunningRegistry } from "../../e2e/support/registry.ts";
import type { Nerdctl } from "../../lib/nerdctl/client.ts";
import type { MessageStream } from "../../lib/docker/progress.ts";
import type { ImportRequest, PullRequest } from "../../lib/docker/transfer.ts";
import { saveImages } from "../../lib/service/image-save.ts";
import { scopeFor, type Scope } from "../../lib/service/scope.ts";
import { commitContainer, createImage, loadImages, pushImage } from "../../lib/service/transfer.ts";
import type { Scenario } from "../fixture-scenarios.ts";
import { imageReference } from "../../lib/reference.ts";

/** Where the recorded argv says the registries are. */
export const FIXTURE_REGISTRY = "127.0.0.1:5000";
export const FIXTURE_AUTH_REGISTRY = "127.0.0.1:5001";
export const FIXTURE_CREDENTIALS = { user: "fixture", password: "fixture-secret" };

interface Forwarded {
  registry: RunningRegistry;
  server: Server;
  stop(): Promise<void>;
}

/** A registry behind a TCP forwarder on a fixed loopback port. */
async function forwardedRegistry(hostPort: string, htpasswd?: { user: string; password: string }): Promise<Forwarded> {
  const registry = await startRegistry(htpasswd ? { htpasswd } : {});
  const [host, port] = hostPort.split(":");
  const server = createServer((client) => {
    const upstream = connect(registry.port, "127.0.0.1");
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new Error(`cannot listen on ${hostPort} for the fixture registry: ${String(error)}`)));
    server.listen(Number(port), host, resolve);
  });
  return {
    registry,
    server,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await registry.stop();
    },
  };
}

async function must(nerdctl: Nerdctl, args: string[]): Promise<string> {
  const result = await nerdctl.runner.run(nerdctl.command(args));
  if (result.exitCode !== 0) throw new Error(`prepare: nerdctl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function drain(stream: MessageStream | Promise<MessageStream>): Promise<void> {
  try {
    for await (const _message of (await stream).messages) {
      // consumed so the child runs to its end and is recorded
    }
  } catch {
    // a failure before any progress is itself what is recorded
  }
}

const never = new AbortController().signal;

/** The services' scope for the recording's nerdctl. */
function scopeOf(nerdctl: Nerdctl): Scope {
  const facts = () => {
    throw new Error("the transfer scenarios read no daemon facts");
  };
  return scopeFor({ nerdctl, facts }, undefined);
}

const pullImage = (nerdctl: Nerdctl, request: PullRequest, signal: AbortSignal) => createImage(scopeOf(nerdctl), { kind: "pull", ...request }, Readable.from([]), signal);

const importImage = (nerdctl: Nerdctl, { body, ...request }: ImportRequest & { body: Readable }, signal: AbortSignal) =>
  createImage(scopeOf(nerdctl), { kind: "import", ...request }, body, signal);

/** A one-file root filesystem, as `docker import` takes it. */
function tinyRootfs(): Readable {
  return Readable.from(packTar([{ type: "file", name: "hello.txt", mtime: 0, content: Buffer.from("hello from a tarball\n") }]));
}

let registries: Forwarded[] = [];
/** The archive transfer-load loads, written by its prepare. */
let loadArchive = "";

async function stopRegistries(): Promise<void> {
  await Promise.all(registries.map((registry) => registry.stop()));
  registries = [];
}

export const TRANSFER_SCENARIOS: Scenario[] = [
  {
    name: "transfer-pull",
    async prepare(nerdctl, work) {
      registries = [await forwardedRegistry(FIXTURE_REGISTRY), await forwardedRegistry(FIXTURE_AUTH_REGISTRY, FIXTURE_CREDENTIALS)];
      // An image only the registry has: a layer of its own, so the pull really downloads something.
      const archive = join(work, "remote.tar");
      await writeLargeImage(archive, { sizeBytes: 4 * 1024 * 1024, seed: "transfer-pull", reference: "docker.io/library/remote:v1" });
      await must(nerdctl, ["load", "--input", archive]);
      await must(nerdctl, ["tag", "remote:v1", `${FIXTURE_REGISTRY}/remote:v2`]);
      await must(nerdctl, ["push", `${FIXTURE_REGISTRY}/remote:v2`]);
      const imports = (await must(nerdctl, ["images", "--format", "{{.Name}}", "--filter", "reference=import"])).split("\n").filter((name) => name.startsWith("import@"));
      await must(nerdctl, ["rmi", "remote:v1", `${FIXTURE_REGISTRY}/remote:v2`, ...imports]);
    },
    async record(nerdctl) {
      try {
        const v2 = imageReference(`${FIXTURE_REGISTRY}/remote:v2`);
        await drain(pullImage(nerdctl, { reference: v2 }, never)); // downloaded
        await drain(pullImage(nerdctl, { reference: v2 }, never)); // up to date
        await drain(pullImage(nerdctl, { reference: imageReference(`${FIXTURE_REGISTRY}/nosuch:v1`) }, never));
        await drain(pullImage(nerdctl, { reference: imageReference(`${FIXTURE_AUTH_REGISTRY}/busybox:v1`) }, never));
        await drain(
          pullImage(
            nerdctl,
            { reference: imageReference(`${FIXTURE_AUTH_REGISTRY}/private:v1`), auth: { username: FIXTURE_CREDENTIALS.user, password: "wrong" } },
            never,
          ),
        );
      } finally {
        await stopRegistries();
      }
    },
  },
  {
    name: "transfer-push",
    async prepare(nerdctl) {
      registries = [await forwardedRegistry(FIXTURE_REGISTRY), await forwardedRegistry(FIXTURE_AUTH_REGISTRY, FIXTURE_CREDENTIALS)];
      await must(nerdctl, ["tag", "busybox", `${FIXTURE_REGISTRY}/busybox:v1`]);
      await must(nerdctl, ["tag", "busybox", `${FIXTURE_AUTH_REGISTRY}/private:v1`]);
    },
    async record(nerdctl) {
      try {
        await drain(pushImage(scopeOf(nerdctl), { reference: imageReference(`${FIXTURE_REGISTRY}/busybox:v1`) }, never));
        await drain(pushImage(scopeOf(nerdctl), { reference: imageReference(`${FIXTURE_REGISTRY}/nosuch:v1`) }, never));
        await drain(pushImage(scopeOf(nerdctl), { reference: imageReference(`${FIXTURE_AUTH_REGISTRY}/private:v1`) }, never));
        await drain(
          pushImage(
            scopeOf(nerdctl),
            {
              reference: imageReference(`${FIXTURE_AUTH_REGISTRY}/private:v1`),
              auth: { username: FIXTURE_CREDENTIALS.user, password: FIXTURE_CREDENTIALS.password, serveraddress: FIXTURE_AUTH_REGISTRY },
            },
            never,
          ),
        );
      } finally {
        await stopRegistries();
      }
    },
  },
  {
    name: "transfer-load",
    async prepare(_nerdctl, work) {
      // An image the engine does not have yet, so the load creates it (and nerdctl's import@ record).
      loadArchive = join(work, "loaded.tar");
      await writeBusyboxImage(loadArchive, { reference: "docker.io/library/loaded:v1" });
    },
    async record(nerdctl) {
      await loadImages(scopeOf(nerdctl), createReadStream(loadArchive), never);
      // The first megabyte of the archive: nerdctl stops in the middle of the layer.
      await loadImages(scopeOf(nerdctl), createReadStream(loadArchive, { end: 1024 * 1024 - 1 }), never);
      await loadImages(scopeOf(nerdctl), Readable.from([Buffer.from("this is not a tar archive\n")]), never);
    },
  },
  {
    name: "transfer-import",
    async record(nerdctl) {
      await importImage(nerdctl, { source: "-", body: tinyRootfs(), reference: imageReference("tiny:v1"), message: "from a tarball", changes: [] }, never);
      await importImage(nerdctl, { source: "-", body: Readable.from([Buffer.from("garbage")]), reference: imageReference("broken:v1"), changes: [] }, never).catch(
        () => {},
      );
    },
  },
  {
    name: "transfer-save",
    async prepare(nerdctl) {
      await importImage(nerdctl, { source: "-", body: tinyRootfs(), reference: imageReference("tiny:v1"), changes: [] }, never);
    },
    async record(nerdctl) {
      // Read to the end, so that nerdctl finishes.
      const archive = await saveImages(scopeOf(nerdctl), ["tiny:v1"], never);
      await finished(archive.pipe(new Writable({ write: (_chunk, _encoding, done) => done() })));
      await saveImages(scopeOf(nerdctl), ["busybox", "nosuch"], never).catch(() => {});
    },
  },
  {
    name: "transfer-commit",
    async record(nerdctl) {
      await commitContainer(
        scopeOf(nerdctl),
        "web",
        { repo: "committed", tag: "v1", comment: "a comment", author: "Fixture <fixture@example.com>", changes: ['CMD ["sh"]'], pause: true },
        never,
      );
      await commitContainer(scopeOf(nerdctl), "nosuch", { repo: "committed", tag: "v2", changes: [], pause: true }, never).catch(() => {});
    },
  },
];
