// Test images made on this machine, because no registry is reachable from it. The archives are
// laid out as `docker save` of Docker 25+ writes them: a docker-archive manifest.json and an OCI
// image layout side by side in one tar, so that `docker load` (old and new) and `nerdctl load`
// all accept them. Output is byte-for-byte reproducible, so image ids are stable across runs.
import { execFile } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { packTar, tarArchiveSize, type TarEntry } from '../../lib/archive/tar-writer.ts';

export const DEFAULT_BUSYBOX_REFERENCE = 'docker.io/library/busybox:latest';
export const DEFAULT_PLATFORM = 'linux/amd64';
export const DEFAULT_BUSYBOX_PATH = '/bin/busybox';
/** Fixed creation time: part of the config, hence of the image id. */
export const IMAGE_CREATED = '2024-01-01T00:00:00Z';
const CREATED_EPOCH_SECONDS = Date.parse(IMAGE_CREATED) / 1000;
const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MEDIA_TYPE_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MEDIA_TYPE_OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface BusyboxImageOptions {
  /** Image reference to tag the archive with. Default docker.io/library/busybox:latest. */
  reference?: string;
  /** os/arch[/variant] written to the config and index. Default linux/amd64. */
  platform?: string;
  /** The static busybox binary to put in the image. Default /bin/busybox. */
  busyboxPath?: string;
}

export interface LargeImageOptions extends BusyboxImageOptions {
  /** Size of the random file in the second layer. */
  sizeBytes: number;
  /** Seed of the pseudo-random data; same seed and size give the same layer. */
  seed?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface WrittenImage {
  path: string;
  /** Fully qualified reference, e.g. docker.io/library/busybox:latest. */
  reference: string;
  /** What Docker shows in RepoTags, e.g. busybox:latest. */
  repoTag: string;
  /** sha256:<hex> of the config: the id docker and nerdctl report. */
  imageId: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** The uncompressed layer digests, as in the config's rootfs.diff_ids. */
  diffIds: string[];
}

export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export function parsePlatform(platform: string): ImagePlatform {
  const [os, architecture, variant, ...rest] = platform.split('/');
  if (!os || !architecture || rest.length > 0) throw new Error(`invalid platform ${JSON.stringify(platform)}, want os/arch[/variant]`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export interface NormalizedReference {
  /** docker.io/library/busybox:latest */
  fullName: string;
  /** busybox:latest */
  familiarName: string;
  tag: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** Normalises a tagged reference the way Docker does (default registry docker.io, library/, :latest). */
export function normalizeReference(reference: string): NormalizedReference {
  if (reference.includes('@')) throw new Error(`cannot tag an archive with a digest reference: ${reference}`);
  const lastSlash = reference.lastIndexOf('/');
  const lastColon = reference.lastIndexOf(':');
  const repository = lastColon > lastSlash ? reference.slice(0, lastColon) : reference;
  const tag = lastColon > lastSlash ? reference.slice(lastColon + 1) : 'latest';

  const firstSlash = repository.indexOf('/');
  const first = firstSlash === -1 ? '' : repository.slice(0, firstSlash);
  const hasDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  let domain = hasDomain ? first : 'docker.io';
  let path = hasDomain ? repository.slice(firstSlash + 1) : repository;
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;

  if (!path.split('/').every((component) => PATH_COMPONENT.test(component)) || !TAG.test(tag)) {
    throw new Error(`invalid image reference ${JSON.stringify(reference)}`);
  }
  const familiarPath =
    domain === 'docker.io' ? (path.startsWith('library/') && path.split('/').length === 2 ? path.slice(8) : path) : `${domain}/${path}`;
  return { fullName: `${domain}/${path}:${tag}`, familiarName: `${familiarPath}:${tag}`, tag };
}

// ---------------------------------------------------------------------------------------------
// Layers

/** A layer whose entries can be produced more than once: once to hash it, once to write it. */
interface LayerSource {
  entries: () => TarEntry[];
  createdBy: string;
}

function byName(a: TarEntry, b: TarEntry): number {
  const left = a.type === 'directory' ? `${a.name.replace(/\/$/, '')}/` : a.name;
  const right = b.type === 'directory' ? `${b.name.replace(/\/$/, '')}/` : b.name;
  return left < right ? -1 : left > right ? 1 : 0;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

async function busyboxApplets(busyboxPath: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(busyboxPath, ['--list'], { encoding: 'utf8' });
  const applets = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name !== '' && name !== 'busybox' && !name.includes('/'));
  return [...new Set(applets)].sort();
}

async function busyboxLayer(busyboxPath: string): Promise<LayerSource> {
  const [binary, applets] = await Promise.all([readFile(busyboxPath), busyboxApplets(busyboxPath)]);
  const mtime = CREATED_EPOCH_SECONDS;
  const unsorted: TarEntry[] = [
    { type: 'directory', name: 'bin', mode: 0o755, mtime },
    { type: 'file', name: 'bin/busybox', mode: 0o755, mtime, content: binary },
    ...applets.map((applet): TarEntry => ({ type: 'symlink', name: `bin/${applet}`, target: 'busybox', mtime })),
    { type: 'directory', name: 'etc', mode: 0o755, mtime },
    { type: 'file', name: 'etc/group', mode: 0o644, mtime, content: Buffer.from(GROUP) },
    { type: 'file', name: 'etc/passwd', mode: 0o644, mtime, content: Buffer.from(PASSWD) },
    { type: 'directory', name: 'home', mode: 0o755, mtime },
    { type: 'directory', name: 'root', mode: 0o700, mtime },
    { type: 'directory', name: 'tmp', mode: 0o1777, mtime },
  ];
  const entries = unsorted.sort(byName);
  return { entries: () => entries, createdBy: 'ADD busybox-static: /bin/busybox, applet symlinks, /etc/passwd, /etc/group' };
}

/** Pseudo-random, incompressible, reproducible bytes: an AES-256-CTR keystream keyed by the seed. */
export function* pseudoRandomChunks(seed: string, size: number, chunkSize = 1024 * 1024): Generator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(chunkSize, Math.max(size, 1)));
  for (let remaining = size; remaining > 0; remaining -= zeros.byteLength) {
    yield cipher.update(remaining >= zeros.byteLength ? zeros : zeros.subarray(0, remaining));
  }
}

function randomDataLayer(seed: string, sizeBytes: number): LayerSource {
  const mtime = CREATED_EPOCH_SECONDS;
  return {
    entries: () => [
      { type: 'directory', name: 'data', mode: 0o755, mtime },
      { type: 'file', name: 'data/random.bin', mode: 0o644, mtime, size: sizeBytes, content: pseudoRandomChunks(seed, sizeBytes) },
    ],
    createdBy: `ADD random data (${sizeBytes} bytes, seed ${JSON.stringify(seed)}) /data/random.bin`,
  };
}

async function describeLayer(layer: LayerSource): Promise<Descriptor> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of packTar(layer.entries())) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  if (size !== tarArchiveSize(layer.entries())) throw new Error('layer size does not match its computed size');
  return { mediaType: MEDIA_TYPE_OCI_LAYER_TAR, digest: `sha256:${hash.digest('hex')}`, size };
}

// ---------------------------------------------------------------------------------------------
// Archive

function jsonBlob(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function describeBuffer(mediaType: string, bytes: Buffer): Descriptor {
  return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.byteLength };
}

function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** One image of an archive: its layers and its reference and platform. */
interface ImageSource {
  layers: LayerSource[];
  options: BusyboxImageOptions;
  /** The image configuration's `config`: what a container of it runs with. */
  runConfig?: Record<string, unknown>;
}

/** An image's blobs and its entries in index.json and manifest.json. */
interface DescribedImage {
  written: Omit<WrittenImage, 'path'>;
  blobs: TarEntry[];
  indexEntry: unknown;
  dockerManifestEntry: unknown;
}

async function describeImage({ layers: layerSources, options, runConfig = { Env: [DEFAULT_PATH_ENV], Cmd: ['sh'] } }: ImageSource): Promise<DescribedImage> {
  const reference = normalizeReference(options.reference ?? DEFAULT_BUSYBOX_REFERENCE);
  const platform = parsePlatform(options.platform ?? DEFAULT_PLATFORM);
  const layers: Descriptor[] = [];
  for (const source of layerSources) layers.push(await describeLayer(source));
  // Layers are stored uncompressed, so each layer digest is also its diff id.
  const diffIds = layers.map((layer) => layer.digest);

  const configBytes = jsonBlob({
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: runConfig,
    created: IMAGE_CREATED,
    history: layerSources.map((source) => ({ created: IMAGE_CREATED, created_by: source.createdBy })),
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  const config = describeBuffer(MEDIA_TYPE_OCI_CONFIG, configBytes);

  const manifestBytes = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    config,
    layers,
  });
  const manifest = describeBuffer(MEDIA_TYPE_OCI_MANIFEST, manifestBytes);

  const mtime = CREATED_EPOCH_SECONDS;
  const blobs: TarEntry[] = [
    { type: 'file', name: blobPath(config.digest), mtime, content: configBytes },
    { type: 'file', name: blobPath(manifest.digest), mtime, content: manifestBytes },
    ...layerSources.map((source, index): TarEntry => {
      const layer = layers[index]!;
      return { type: 'file', name: blobPath(layer.digest), mtime, size: layer.size, content: packTar(source.entries()) };
    }),
  ];
  return {
    written: { reference: reference.fullName, repoTag: reference.familiarName, imageId: config.digest, manifest, config, layers, diffIds },
    blobs,
    indexEntry: {
      ...manifest,
      annotations: {
        'io.containerd.image.name': reference.fullName,
        'org.opencontainers.image.ref.name': reference.tag,
      },
      platform: {
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
      },
    },
    dockerManifestEntry: {
      Config: blobPath(config.digest),
      RepoTags: [reference.familiarName],
      Layers: layers.map((layer) => blobPath(layer.digest)),
    },
  };
}

/** One archive of the images, in the order given; a blob they share is written once. */
async function writeImageArchive(path: string, sources: ImageSource[]): Promise<WrittenImage[]> {
  const images: DescribedImage[] = [];
  for (const source of sources) images.push(await describeImage(source));
  const indexBytes = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_INDEX,
    manifests: images.map((image) => image.indexEntry),
  });
  const dockerManifestBytes = jsonBlob(images.map((image) => image.dockerManifestEntry));

  const mtime = CREATED_EPOCH_SECONDS;
  const blobs = new Map<string, TarEntry>();
  for (const entry of images.flatMap((image) => image.blobs)) if (!blobs.has(entry.name)) blobs.set(entry.name, entry);
  const entries: TarEntry[] = [
    { type: 'directory', name: 'blobs', mtime },
    { type: 'directory', name: 'blobs/sha256', mtime },
    ...[...blobs.values()].sort(byName),
    { type: 'file', name: 'index.json', mtime, content: indexBytes },
    { type: 'file', name: 'manifest.json', mtime, content: dockerManifestBytes },
    { type: 'file', name: 'oci-layout', mtime, content: jsonBlob({ imageLayoutVersion: '1.0.0' }) },
  ];

  // Write next to the target and rename, so a reader never sees half an archive.
  const partial = `${path}.partial-${process.pid}`;
  try {
    await pipeline(Readable.from(packTar(entries)), createWriteStream(partial));
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return images.map((image) => ({ path, ...image.written }));
}

/** Writes a one-layer busybox image archive loadable by `docker load` and `nerdctl load`. */
export async function writeBusyboxImage(path: string, options: BusyboxImageOptions = {}): Promise<WrittenImage> {
  const [image] = await writeImageArchive(path, [{ layers: [await busyboxLayer(options.busyboxPath ?? DEFAULT_BUSYBOX_PATH)], options }]);
  return image!;
}

/**
 * Writes the busybox image plus a second layer holding `sizeBytes` of seeded random data, for
 * benchmarks. The data is generated twice (to hash, then to write) rather than held or staged.
 */
export async function writeLargeImage(path: string, options: LargeImageOptions): Promise<WrittenImage> {
  if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes < 0) {
    throw new Error(`sizeBytes must be a non-negative integer, got ${options.sizeBytes}`);
  }
  const reference = options.reference ?? 'docker.io/library/nerdctld-large:latest';
  const layers = [
    await busyboxLayer(options.busyboxPath ?? DEFAULT_BUSYBOX_PATH),
    randomDataLayer(options.seed ?? 'nerdctld-large-image', options.sizeBytes),
  ];
  const [image] = await writeImageArchive(path, [{ layers, options: { ...options, reference } }]);
  return image!;
}

/**
 * Writes one archive of many tiny images, one per reference, each a single layer holding /id with
 * its reference: distinct images (ids) for listings, cheap to write and to load in one go. They
 * have no programs; they are not for running.
 */
export async function writeDistinctImages(path: string, references: string[]): Promise<WrittenImage[]> {
  const mtime = CREATED_EPOCH_SECONDS;
  return writeImageArchive(
    path,
    references.map((reference) => ({
      layers: [
        {
          entries: () => [{ type: 'file', name: 'id', mode: 0o644, mtime, content: Buffer.from(`${reference}\n`) }],
          createdBy: 'ADD id /id',
        },
      ],
      options: { reference },
    })),
  );
}

/**
 * Writes an image of one static program at /bin/<name>, its entrypoint (the
 * reaper the Testcontainers suite runs as Ryuk, scripts/install-reaper.sh).
 */
export async function writeProgramImage(path: string, programPath: string, reference: string, labels: Record<string, string> = {}): Promise<WrittenImage> {
  const binary = await readFile(programPath);
  const mtime = CREATED_EPOCH_SECONDS;
  const name = basename(programPath);
  const entries: TarEntry[] = [
    { type: 'directory', name: 'bin', mode: 0o755, mtime },
    { type: 'file', name: `bin/${name}`, mode: 0o755, mtime, content: binary },
    { type: 'directory', name: 'tmp', mode: 0o1777, mtime },
  ];
  const layer: LayerSource = { entries: () => entries, createdBy: `ADD ${name} /bin/${name}` };
  const [image] = await writeImageArchive(path, [
    { layers: [layer], options: { reference }, runConfig: { Env: [DEFAULT_PATH_ENV], Entrypoint: [`/bin/${name}`], Labels: labels } },
  ]);
  return image!;
}

/** The files `ldd` says a program loads (the dynamic loader included), by the paths it names. */
async function sharedLibraries(programPath: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ldd', [programPath], { encoding: 'utf8' });
  const paths = stdout.split('\n').map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line)?.[1]);
  return [...new Set(paths.filter((path): path is string => path !== undefined))];
}

/**
 * Writes an image of a dynamically linked program at /usr/local/bin/<name>
 * (the host's node, for a base of node programs) with the shared libraries it
 * loads at the paths it loads them from, over the busybox layer (/bin/sh).
 */
export async function writeDynamicProgramImage(path: string, programPath: string, reference: string): Promise<WrittenImage> {
  const mtime = CREATED_EPOCH_SECONDS;
  const name = basename(programPath);
  const files = new Map<string, Buffer>([[`usr/local/bin/${name}`, await readFile(programPath)]]);
  for (const library of await sharedLibraries(programPath)) files.set(library.slice(1), await readFile(library));
  const dirs = new Set<string>();
  for (const file of files.keys()) {
    for (let dir = dirname(file); dir !== '.'; dir = dirname(dir)) dirs.add(dir);
  }
  const entries: TarEntry[] = [
    ...[...dirs].map((dir): TarEntry => ({ type: 'directory', name: dir, mode: 0o755, mtime })),
    ...[...files].map(([file, content]): TarEntry => ({ type: 'file', name: file, mode: 0o755, mtime, content })),
  ].sort(byName);
  const layer: LayerSource = { entries: () => entries, createdBy: `ADD ${name} and its shared libraries` };
  const [image] = await writeImageArchive(path, [
    {
      layers: [await busyboxLayer(DEFAULT_BUSYBOX_PATH), layer],
      options: { reference },
      runConfig: { Env: [DEFAULT_PATH_ENV], Cmd: [`/usr/local/bin/${name}`] },
    },
  ]);
  return image!;
}
