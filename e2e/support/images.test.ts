import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_BUSYBOX_PATH,
  normalizeReference,
  pseudoRandomChunks,
  writeBusyboxImage,
  writeDistinctImages,
  writeLargeImage,
  type WrittenImage,
} from './images.ts';
import { packTar, tarArchiveSize, type TarEntry } from '../../lib/archive/tar-writer.ts';
import { listTar, readTar, type TarReadEntry } from './tar.ts';

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readArchive(path: string, bufferLimit?: number): Promise<Map<string, TarReadEntry>> {
  const entries = new Map<string, TarReadEntry>();
  for await (const entry of readTar(createReadStream(path), bufferLimit === undefined ? {} : { bufferLimit })) {
    entries.set(entry.name, entry);
  }
  return entries;
}

function json(entry: TarReadEntry | undefined): any {
  expect(entry?.data).toBeDefined();
  return JSON.parse(entry!.data!.toString('utf8'));
}

function blobName(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

describe('tar', () => {
  const longName = `deep/${'d'.repeat(120)}/naïve-file.txt`;
  const entries = (): TarEntry[] => [
    { type: 'directory', name: 'deep', mtime: 1_700_000_000 },
    { type: 'file', name: longName, mode: 0o600, mtime: 1_700_000_000, content: Buffer.from('hello\n') },
    { type: 'file', name: 'streamed.bin', size: 1500, content: [Buffer.alloc(1000, 1), Buffer.alloc(500, 2)] },
    { type: 'file', name: 'empty', content: Buffer.alloc(0) },
    { type: 'symlink', name: 'link', target: `../${'t'.repeat(110)}` },
    { type: 'directory', name: 'sticky/', mode: 0o1777 },
  ];

  it('round-trips names, types, modes and bodies, with pax headers for long names', async () => {
    const archive = await collect(packTar(entries()));
    expect(archive.byteLength % 512).toBe(0);
    expect(archive.byteLength).toBe(tarArchiveSize(entries()));
    const read = await listTar(archive);
    expect(read.map((entry) => [entry.name, entry.type])).toEqual([
      ['deep/', 'directory'],
      [longName, 'file'],
      ['streamed.bin', 'file'],
      ['empty', 'file'],
      ['link', 'symlink'],
      ['sticky/', 'directory'],
    ]);
    expect(read[1]).toMatchObject({ mode: 0o600, mtime: 1_700_000_000, size: 6 });
    expect(read[1]!.data!.toString()).toBe('hello\n');
    expect(read[2]!.data!.equals(Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(500, 2)]))).toBe(true);
    expect(read[4]!.linkname).toBe(`../${'t'.repeat(110)}`);
    expect(read[5]!.mode).toBe(0o1777);
  });

  it('is readable by GNU tar', async () => {
    const listing = execFileSync('tar', ['-tf', '-'], { input: await collect(packTar(entries())) }).toString();
    expect(listing.split('\n')).toContain(longName);
  });

  it('rejects a streamed file whose length differs from its declared size', async () => {
    const short: TarEntry = { type: 'file', name: 'x', size: 10, content: [Buffer.alloc(5)] };
    await expect(collect(packTar([short]))).rejects.toThrow(/expected 10/);
  });

  it('hashes bodies above the buffer limit without keeping them', async () => {
    const archive = await collect(packTar([{ type: 'file', name: 'big', content: Buffer.alloc(4096, 7) }]));
    const [entry] = await listTar(archive, { bufferLimit: 1024 });
    expect(entry!.data).toBeUndefined();
    expect(entry!.digest).toBe(`sha256:${createHash('sha256').update(Buffer.alloc(4096, 7)).digest('hex')}`);
  });
});

describe('normalizeReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app:1.0', 'docker.io/user/app:1.0', 'user/app:1.0'],
    ['127.0.0.1:5000/busybox:test', '127.0.0.1:5000/busybox:test', '127.0.0.1:5000/busybox:test'],
    ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
  ])('%s', (input, fullName, familiarName) => {
    expect(normalizeReference(input)).toMatchObject({ fullName, familiarName });
  });

  it('rejects digests and invalid names', () => {
    expect(() => normalizeReference('busybox@sha256:abcd')).toThrow();
    expect(() => normalizeReference('Busybox')).toThrow();
  });
});

describe('pseudoRandomChunks', () => {
  it('is reproducible, seed-dependent, exact in length and incompressible', () => {
    const a = Buffer.concat([...pseudoRandomChunks('one', 300_001, 65_536)]);
    expect(a.byteLength).toBe(300_001);
    // Buffer.equals: vitest's deep equality walks buffers byte by byte, which is slow.
    expect(Buffer.concat([...pseudoRandomChunks('one', 300_001)]).equals(a)).toBe(true);
    expect(Buffer.concat([...pseudoRandomChunks('two', 300_001)]).equals(a)).toBe(false);
    expect(gzipSync(a).byteLength).toBeGreaterThan(a.byteLength);
  });
});

describe('busybox image archive', () => {
  let dir: string;
  let image: WrittenImage;
  let archive: Map<string, TarReadEntry>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nerdctld-images-test-'));
    image = await writeBusyboxImage(join(dir, 'busybox.tar'));
    archive = await readArchive(image.path);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is byte-for-byte reproducible', async () => {
    const again = await writeBusyboxImage(join(dir, 'again.tar'));
    expect(await sha256File(again.path)).toBe(await sha256File(image.path));
    expect(again.imageId).toBe(image.imageId);
  });

  it('lists its entries sorted, as docker save does', () => {
    const names = [...archive.keys()];
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(
      expect.arrayContaining(['blobs/', 'blobs/sha256/', 'index.json', 'manifest.json', 'oci-layout']),
    );
  });

  it('has blobs whose names are their digests', () => {
    for (const [name, entry] of archive) {
      if (name.startsWith('blobs/sha256/') && entry.type === 'file') expect(entry.digest).toBe(`sha256:${name.slice(13)}`);
    }
  });

  it('has an OCI layout whose index, manifest and config agree with the blobs', () => {
    expect(json(archive.get('oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = json(archive.get('index.json'));
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).toHaveLength(1);
    const [descriptor] = index.manifests;
    expect(descriptor.annotations).toEqual({
      'io.containerd.image.name': 'docker.io/library/busybox:latest',
      'org.opencontainers.image.ref.name': 'latest',
    });
    expect(descriptor.platform).toEqual({ architecture: 'amd64', os: 'linux' });

    const manifestEntry = archive.get(blobName(descriptor.digest));
    expect(manifestEntry?.size).toBe(descriptor.size);
    const manifest = json(manifestEntry);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(descriptor.digest).toBe(image.manifest.digest);

    const configEntry = archive.get(blobName(manifest.config.digest));
    expect(configEntry?.size).toBe(manifest.config.size);
    expect(manifest.config.digest).toBe(image.imageId);
    for (const layer of manifest.layers) {
      expect(archive.get(blobName(layer.digest))?.size).toBe(layer.size);
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    }

    const config = json(configEntry);
    expect(config).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: manifest.layers.map((layer: { digest: string }) => layer.digest) },
    });
    expect(config.history).toHaveLength(1);
  });

  it('has a docker-archive manifest.json pointing at the same blobs', () => {
    const [entry, ...rest] = json(archive.get('manifest.json'));
    expect(rest).toEqual([]);
    expect(entry.RepoTags).toEqual(['busybox:latest']);
    expect(entry.Config).toBe(blobName(image.imageId));
    expect(entry.Layers).toEqual(image.layers.map((layer) => blobName(layer.digest)));
    for (const path of [entry.Config, ...entry.Layers]) expect(archive.has(path)).toBe(true);
  });

  it('has a layer with busybox, applet links, users and a sticky /tmp', async () => {
    const [layer] = image.layers;
    const entries = new Map((await listTar(archive.get(blobName(layer!.digest))!.data!)).map((entry) => [entry.name, entry]));
    expect(entries.get('bin/busybox')).toMatchObject({ type: 'file', mode: 0o755, size: statSync(DEFAULT_BUSYBOX_PATH).size });
    for (const applet of ['sh', 'ls', 'cat', 'echo', 'sleep', 'env', 'id', 'true', 'wget', 'seq', 'top']) {
      expect(entries.get(`bin/${applet}`), applet).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    }
    expect(entries.get('tmp/')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(entries.get('root/')).toMatchObject({ type: 'directory', mode: 0o700 });
    expect(entries.get('etc/passwd')!.data!.toString()).toMatch(/^root:x:0:0:.*\nnobody:x:65534:65534:/);
    expect(entries.get('etc/group')!.data!.toString()).toMatch(/^root:x:0:\nnobody:x:65534:/);
  });

  it('takes another reference and platform', async () => {
    const other = await writeBusyboxImage(join(dir, 'other.tar'), {
      reference: '127.0.0.1:5000/test/busybox:v1',
      platform: 'linux/arm64/v8',
    });
    const entries = await readArchive(other.path);
    const index = json(entries.get('index.json'));
    expect(index.manifests[0].annotations['io.containerd.image.name']).toBe('127.0.0.1:5000/test/busybox:v1');
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('v1');
    expect(json(entries.get('manifest.json'))[0].RepoTags).toEqual(['127.0.0.1:5000/test/busybox:v1']);
    expect(json(entries.get(blobName(other.imageId)))).toMatchObject({ architecture: 'arm64', variant: 'v8' });
    expect(other.imageId).not.toBe(image.imageId);
  });

  it('writes a large image whose data layer is streamed, exact and reproducible', async () => {
    const sizeBytes = 3 * 1024 * 1024 + 123;
    const large = await writeLargeImage(join(dir, 'large.tar'), { reference: 'bench/large:1', sizeBytes });
    const again = await writeLargeImage(join(dir, 'large-again.tar'), { reference: 'bench/large:1', sizeBytes });
    expect(again.imageId).toBe(large.imageId);
    expect(await sha256File(again.path)).toBe(await sha256File(large.path));

    expect(large.layers).toHaveLength(2);
    expect(large.layers[0]!.digest).toBe(image.layers[0]!.digest);
    const entries = await readArchive(large.path, 1024);
    const dataLayer = entries.get(blobName(large.layers[1]!.digest))!;
    expect(dataLayer.digest).toBe(large.layers[1]!.digest);
    expect(dataLayer.size).toBe(large.layers[1]!.size);

    const layerBytes = await readFile(large.path).then(async (bytes) => {
      const all = await listTar(bytes);
      return all.find((entry) => entry.name === blobName(large.layers[1]!.digest))!.data!;
    });
    const files = await listTar(layerBytes);
    const random = files.find((entry) => entry.name === 'data/random.bin')!;
    expect(random.size).toBe(sizeBytes);
    expect(random.data!.equals(Buffer.concat([...pseudoRandomChunks('nerdctld-large-image', sizeBytes)]))).toBe(true);
    expect(json(entries.get(blobName(large.imageId))).history).toHaveLength(2);
  });

  it('writes many distinct tiny images into one archive, each under its reference', async () => {
    const references = ['docker.io/library/many:1', 'docker.io/library/many:2', 'example.com/other/many:3'];
    const images = await writeDistinctImages(join(dir, 'many.tar'), references);
    expect(images.map((written) => written.reference)).toEqual(references);
    expect(new Set(images.map((written) => written.imageId)).size).toBe(3);
    const entries = await readArchive(images[0]!.path);
    const index = json(entries.get('index.json'));
    expect(index.manifests.map((descriptor: any) => descriptor.annotations['io.containerd.image.name'])).toEqual(references);
    expect(index.manifests.map((descriptor: any) => descriptor.digest)).toEqual(images.map((written) => written.manifest.digest));
    const manifest = json(entries.get('manifest.json'));
    expect(manifest.map((entry: any) => entry.RepoTags)).toEqual([['many:1'], ['many:2'], ['example.com/other/many:3']]);
    expect(manifest.map((entry: any) => entry.Config)).toEqual(images.map((written) => blobName(written.imageId)));
    for (const written of images) {
      expect(written.layers).toHaveLength(1);
      const files = await listTar(entries.get(blobName(written.layers[0]!.digest))!.data!);
      expect(files.map((file) => [file.name, file.data!.toString()])).toEqual([['id', `${written.reference}\n`]]);
    }
  });
});
