import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { packTar, type TarEntry } from "../../lib/archive/tar-writer.ts";
import { chainIds } from "../../lib/docker/image-model.ts";
import type { Nerdctl } from "../../lib/nerdctl/client.ts";
import { inspectAllRecords } from "../../lib/nerdctl/images.ts";
import type { RecordingRunner } from "../../lib/runner/recording.ts";
import type { CommandRunner } from "../../lib/runner/types.ts";
import type { Scenario } from "../fixture-scenarios.ts";

// ---------------------------------------------------------------------------------------------
// Small test images whose archives are plain ASCII (text files in uncompressed layers, JSON
// blobs, tar headers), so they can also be fed to `nerdctl load` on stdin as a string (e2e).

export interface TextImageOptions {
  /** e.g. `e2e/labelled:1`; none gives an untagged image. */
  reference?: string;
  /** The config's creation time; none leaves dates out of the config and its history (the OCI image spec makes them optional). */
  created?: string;
  labels?: Record<string, string>;
  /** One map of file name → text per layer. */
  layers: Record<string, string>[];
  /** History entries without a layer (`LABEL …`), after the layers'. */
  emptyLayers?: string[];
}

export interface TextImage {
  /** A docker-archive + OCI-layout tar, as `docker save` of Docker 25+ writes them. */
  archive: Buffer;
  /** Docker's image id: the config digest. */
  imageId: string;
  manifestDigest: string;
  indexDigest: string;
  diffIds: string[];
  /** Every digest in the image, which fixtures keep as they are (content-addressed). */
  digests: string[];
}

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function tarBytes(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of packTar(entries)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** The archive nerdctl and dockerd both load; the same options always give the same bytes. */
export async function textImage(options: TextImageOptions): Promise<TextImage> {
  const mtime = options.created ? Date.parse(options.created) / 1000 : 0;
  const layers = await Promise.all(
    options.layers.map((files) =>
      tarBytes(Object.entries(files).map(([name, text]) => ({ type: "file" as const, name, mode: 0o644, mtime, content: Buffer.from(text) }))),
    ),
  );
  const layerDescriptors = layers.map((bytes) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(bytes), size: bytes.length }));
  const diffIds = layerDescriptors.map((layer) => layer.digest);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: options.created,
      config: { Env: ["PATH=/bin"], Cmd: ["sh"], ...(options.labels ? { Labels: options.labels } : {}) },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: [
        ...layers.map((_, index) => ({ created: options.created, created_by: `ADD layer${index + 1}.txt /` })),
        ...(options.emptyLayers ?? []).map((createdBy) => ({ created: options.created, created_by: createdBy, empty_layer: true })),
      ],
    }),
  );
  const configDescriptor = { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length };
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: configDescriptor, layers: layerDescriptors }),
  );
  const manifestDescriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha256(manifest), size: manifest.length };
  const named = options.reference ? fullReference(options.reference) : undefined;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          ...manifestDescriptor,
          ...(named ? { annotations: { "io.containerd.image.name": named.full, "org.opencontainers.image.ref.name": named.tag } } : {}),
          platform: { architecture: "amd64", os: "linux" },
        },
      ],
    }),
  );
  const blobPath = (digest: string) => `blobs/${digest.replace(":", "/")}`;
  const dockerManifest = Buffer.from(
    JSON.stringify([
      { Config: blobPath(configDescriptor.digest), RepoTags: options.reference ? [options.reference] : null, Layers: diffIds.map(blobPath) },
    ]),
  );
  const blobs = new Map<string, Buffer>([
    [blobPath(configDescriptor.digest), config],
    [blobPath(manifestDescriptor.digest), manifest],
    ...layers.map((bytes, i): [string, Buffer] => [blobPath(diffIds[i]!), bytes]),
  ]);
  const archive = await tarBytes([
    { type: "directory", name: "blobs", mtime },
    { type: "directory", name: "blobs/sha256", mtime },
    ...[...blobs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, content]) => ({ type: "file" as const, name, mtime, content })),
    { type: "file", name: "index.json", mtime, content: index },
    { type: "file", name: "manifest.json", mtime, content: dockerManifest },
    { type: "file", name: "oci-layout", mtime, content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
  ]);
  if (archive.some((byte) => byte > 0x7f)) throw new Error("a text image archive must be ASCII");
  const indexDigest = sha256(index);
  return {
    archive,
    imageId: configDescriptor.digest,
    manifestDigest: manifestDescriptor.digest,
    indexDigest,
    diffIds,
    digests: [configDescriptor.digest, manifestDescriptor.digest, indexDigest, ...diffIds, ...chainIds(diffIds)],
  };
}

function fullReference(reference: string): { full: string; tag: string } {
  const colon = reference.lastIndexOf(":");
  const [repository, tag] = colon > reference.lastIndexOf("/") ? [reference.slice(0, colon), reference.slice(colon + 1)] : [reference, "latest"];
  const first = repository.split("/")[0]!;
  const hasDomain = repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const path = hasDomain ? repository : repository.includes("/") ? `docker.io/${repository}` : `docker.io/library/${repository}`;
  return { full: `${path}:${tag}`, tag };
}

/** Two layers, labels, and a history entry without a layer: the image the list filters and history are tried on. */
export const LABELLED_IMAGE: TextImageOptions = {
  reference: "e2e/labelled:1",
  created: "2024-02-01T00:00:00Z",
  labels: { "org.example.kind": "test", "org.example.tier": "a" },
  layers: [{ "layer1.txt": "alpha\n".repeat(1000) }, { "layer2.txt": "beta\n".repeat(3000) }],
  emptyLayers: ["LABEL org.example.kind=test org.example.tier=a"],
};

/** Loaded without a name: dangling from the start. */
export const UNTAGGED_IMAGE: TextImageOptions = {
  created: "2023-06-01T00:00:00Z",
  layers: [{ "untagged.txt": "nobody named me\n" }],
};

/**
 * No date in the config nor in its history: both are optional in the OCI image spec, and nerdctl
 * 2.3.5 crashes on such an image in its Docker-compatible inspect and in its history.
 */
export const UNDATED_IMAGE: TextImageOptions = {
  reference: "e2e/undated:1",
  layers: [{ "undated.txt": "made at no particular time\n" }],
};

// ---------------------------------------------------------------------------------------------
// Scenarios. Each prepares its own images on the shared engine (busybox:latest, containers web,
// done and fresh), records through the daemon's own functions, and puts the engine back.

async function must(raw: Nerdctl, args: string[]): Promise<string> {
  const result = await raw.runner.run(raw.command(args));
  if (result.exitCode !== 0) throw new Error(`setup: nerdctl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function load(raw: Nerdctl, work: string, options: TextImageOptions): Promise<TextImage> {
  const image = await textImage(options);
  const path = join(work, `${image.imageId.slice(7, 19)}.tar`);
  await writeFile(path, image.archive);
  await must(raw, ["load", "--input", path]);
  return image;
}

/**
 * What every image scenario starts from: busybox:latest and nerdctl's record of its archive
 * (anything earlier scenarios left is removed, so these fixtures do not depend on them), and
 * the digests of that image, kept as they are in fixtures.
 */
let base: { records: Set<string>; digests: string[] } | undefined;

async function remember(raw: Nerdctl): Promise<void> {
  if (base) return;
  const records = await inspectAllRecords(raw);
  const busybox = records.find((record) => record.Image.Name === "docker.io/library/busybox:latest");
  if (!busybox?.ImageConfigDesc) throw new Error("setup: busybox:latest is not loaded");
  const kept = records.filter(
    (record) =>
      record === busybox || (record.Image.Name.startsWith("import@") && record.ImageConfigDesc?.digest === busybox.ImageConfigDesc!.digest),
  );
  const diffIds = busybox.ImageConfig?.rootfs?.diff_ids ?? [];
  base = {
    records: new Set(kept.map((record) => record.Image.Name)),
    digests: [busybox.ImageConfigDesc.digest, ...kept.map((record) => record.Image.Target.digest), ...diffIds, ...chainIds(diffIds)],
  };
}

/** Removes every image record the scenarios made. */
async function reset(raw: Nerdctl): Promise<void> {
  const made = (await inspectAllRecords(raw)).map((record) => record.Image.Name).filter((name) => !base?.records.has(name));
  if (made.length) await must(raw, ["rmi", "--force", "--", ...made]);
}

/** Content digests stay as they are in fixtures (the normaliser replaces other ids). */
function keep(runner: CommandRunner, images: readonly TextImage[]): void {
  const normalizer = (runner as RecordingRunner).normalizer;
  for (const digest of [...(base?.digests ?? []), ...images.flatMap((image) => image.digests)]) normalizer.keepId(digest.slice(7));
}

/** A client's request to the daemon's app (see Scenario.record). */
type Request = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * A scenario over images made in prepare (and the containers named, made from them), recorded
 * through the daemon's routes, with the engine put back afterwards.
 */
function imageScenario(
  name: string,
  prepare: (raw: Nerdctl, work: string) => Promise<TextImage[]>,
  record: (request: Request) => Promise<void>,
  containers: string[] = [],
): Scenario {
  let raw: Nerdctl | undefined;
  let made: TextImage[] = [];
  return {
    name,
    async prepare(nerdctl, work) {
      raw = nerdctl;
      await remember(nerdctl);
      await reset(nerdctl);
      made = await prepare(nerdctl, work);
    },
    async record(_nerdctl, runner, request) {
      keep(runner, made);
      try {
        await record(request);
      } finally {
        if (containers.length) await must(raw!, ["rm", "--force", "--", ...containers]);
        await reset(raw!);
      }
    },
  };
}

/** Sends each request in turn; a Docker error (a 404, a 409) is a recorded outcome like any answer. */
async function requests(request: Request, ...paths: (string | [string, RequestInit])[]): Promise<void> {
  for (const path of paths) {
    const response = await (typeof path === "string" ? request(path) : request(...path));
    await response.arrayBuffer();
  }
}

const POST: RequestInit = { method: "POST" };
const DELETE: RequestInit = { method: "DELETE" };

export const IMAGE_SCENARIOS: Scenario[] = [
  // The read-only routes: busybox (also tagged into a registry repository), a labelled
  // two-layer image, and an untagged one.
  imageScenario(
    "images",
    async (raw, work) => {
      const images = [await load(raw, work, LABELLED_IMAGE), await load(raw, work, UNTAGGED_IMAGE)];
      await must(raw, ["tag", "busybox:latest", "localhost:5000/team/app:v1"]);
      return images;
    },
    async (request) => {
      const untagged = await textImage(UNTAGGED_IMAGE);
      await requests(
        request,
        "/images/busybox/json",
        "/images/e2e/labelled:1/history",
        "/images/busybox/history",
        `/images/${untagged.imageId}/history`,
        "/images/nosuch/history",
      );
    },
  ),
  // What a request in the k8s.io namespace sees (busybox loaded there too, no containers).
  imageScenario(
    "images-k8s",
    async () => [],
    async (request) => {
      await requests(request, ["/images/json", { headers: { "X-Containerd-Namespace": "k8s.io" } }]);
    },
  ),
  imageScenario(
    "images-tag",
    async () => [],
    async (request) => {
      await requests(request, ["/images/busybox/tag?repo=newtag&tag=1", POST]);
    },
  ),
  imageScenario(
    "images-tag-by-id",
    async () => [],
    async (request) => {
      await requests(request, ["/images/bba85999f9ac/tag?repo=localhost:5000/byid", POST]);
    },
  ),
  // An image whose only record is nerdctl's `import@` one: nerdctl cannot tag from it.
  imageScenario(
    "images-tag-untagged",
    async (raw, work) => [await load(raw, work, UNTAGGED_IMAGE)],
    async (request) => {
      const untagged = await textImage(UNTAGGED_IMAGE);
      await requests(request, [`/images/${untagged.imageId.slice(7, 19)}/tag?repo=named&tag=1`, POST]);
    },
  ),
  // busybox under a second tag: `docker rmi mytag:1` only untags.
  imageScenario(
    "images-rmi-untag",
    async (raw) => {
      await must(raw, ["tag", "busybox:latest", "mytag:1"]);
      return [];
    },
    async (request) => {
      await requests(request, ["/images/mytag:1", DELETE]);
    },
  ),
  // Refusals: busybox is used by web (running), done and fresh; nothing is removed.
  imageScenario(
    "images-rmi-conflict",
    async () => [],
    async (request) => {
      await requests(request, ["/images/busybox", DELETE], ["/images/bba85999f9ac?force=1", DELETE], ["/images/nosuch", DELETE]);
    },
  ),
  // The labelled image under two tags, removed by id: refused without force, everything with it.
  imageScenario(
    "images-rmi-force",
    async (raw, work) => {
      const labelled = await load(raw, work, LABELLED_IMAGE);
      await must(raw, ["tag", "e2e/labelled:1", "e2e/labelled:2"]);
      return [labelled];
    },
    async (request) => {
      const id = (await textImage(LABELLED_IMAGE)).imageId.slice(7, 19);
      await requests(request, [`/images/${id}`, DELETE], [`/images/${id}?force=1`, DELETE]);
    },
  ),
  // Removing the last tag of an unused image removes the image (and nerdctl's import record).
  imageScenario(
    "images-rmi-last-tag",
    async (raw, work) => [await load(raw, work, LABELLED_IMAGE)],
    async (request) => {
      await requests(request, ["/images/e2e/labelled:1", DELETE]);
    },
  ),
  // `docker image prune`: the untagged image goes; busybox and the labelled image stay.
  imageScenario(
    "images-prune",
    async (raw, work) => [await load(raw, work, LABELLED_IMAGE), await load(raw, work, UNTAGGED_IMAGE)],
    async (request) => {
      await requests(request, ["/images/prune", POST]);
    },
  ),
  // `docker image prune -a`: every image no container uses.
  imageScenario(
    "images-prune-all",
    async (raw, work) => [await load(raw, work, LABELLED_IMAGE), await load(raw, work, UNTAGGED_IMAGE)],
    async (request) => {
      await requests(request, [`/images/prune?filters=${encodeURIComponent('{"dangling":{"false":true}}')}`, POST]);
    },
  ),
  // nerdctl crashes reading the undated image: listings still list (container `undated` is made
  // from it), inspect works, history answers from the image's config.
  imageScenario(
    "images-undated",
    async (raw, work) => {
      const undated = await load(raw, work, UNDATED_IMAGE);
      await must(raw, ["create", "--name", "undated", UNDATED_IMAGE.reference!]);
      return [undated];
    },
    async (request) => {
      await requests(
        request,
        "/containers/json?all=1",
        "/containers/undated/json",
        "/images/json",
        "/images/e2e/undated:1/json",
        "/images/e2e/undated:1/history",
        "/system/df",
      );
    },
    ["undated"],
  ),
];
