import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bcryptHash, blowfishPiWords, startRegistry, type RunningRegistry } from './registry.ts';

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Monolithic upload: POST for an upload session, then one PUT with the whole blob and its digest. */
async function uploadBlob(registry: RunningRegistry, repository: string, blob: Buffer, headers: Record<string, string> = {}) {
  const digest = sha256(blob);
  const start = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers });
  expect(start.status).toBe(202);
  const location = new URL(start.headers.get('location')!, registry.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(blob.byteLength) },
    body: Uint8Array.from(blob),
  });
  expect(put.status).toBe(201);
  expect(put.headers.get('docker-content-digest')).toBe(digest);
  return { digest, size: blob.byteLength };
}

describe('bcryptHash', () => {
  it('derives the Blowfish tables from pi', () => {
    const words = blowfishPiWords();
    expect(words).toHaveLength(1042);
    // First and last P-array words, first and last S-box words, as published with Blowfish.
    expect([words[0], words[17], words[18], words[1041]].map((word) => word!.toString(16))).toEqual([
      '243f6a88',
      '8979fb1b',
      'd1310ba6',
      '3ac372e6',
    ]);
  });

  it('matches a hash computed by libxcrypt (perl crypt)', () => {
    expect(bcryptHash('secret', 5, 'abcdefghijklmnopqrstuu')).toBe(
      '$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a',
    );
  });

  it('agrees with the system crypt on a random salt', () => {
    const hash = bcryptHash('p@ss wörd', 4);
    const setting = `$2b$${hash.slice(4, 29)}`;
    const system = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', 'p@ss wörd', setting]).toString();
    expect(system.slice(4)).toBe(hash.slice(4));
  });
});

describe('startRegistry', () => {
  describe('without auth', () => {
    let registry: RunningRegistry;
    beforeAll(async () => {
      registry = await startRegistry();
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it('listens on loopback only and answers /v2/', async () => {
      expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(registry.url).toBe(`http://${registry.host}`);
      const response = await fetch(`${registry.url}/v2/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    });

    it('accepts a monolithic blob upload and a manifest, and deletes it again', async () => {
      const repository = 'e2e/busybox';
      const layer = await uploadBlob(registry, repository, Buffer.alloc(1024, 0));
      const config = await uploadBlob(
        registry,
        repository,
        Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })),
      );
      const head = await fetch(`${registry.url}/v2/${repository}/blobs/${layer.digest}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('1024');

      const mediaType = 'application/vnd.oci.image.manifest.v1+json';
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
        }),
      );
      const put = await fetch(`${registry.url}/v2/${repository}/manifests/v1`, {
        method: 'PUT',
        headers: { 'content-type': mediaType },
        body: Uint8Array.from(manifest),
      });
      expect(put.status).toBe(201);
      expect(put.headers.get('docker-content-digest')).toBe(sha256(manifest));

      const get = await fetch(`${registry.url}/v2/${repository}/manifests/v1`, { headers: { accept: mediaType } });
      expect(get.status).toBe(200);
      expect(Buffer.from(await get.arrayBuffer()).equals(manifest)).toBe(true);

      const tags = await fetch(`${registry.url}/v2/${repository}/tags/list`);
      expect(await tags.json()).toEqual({ name: repository, tags: ['v1'] });

      const remove = await fetch(`${registry.url}/v2/${repository}/manifests/${sha256(manifest)}`, { method: 'DELETE' });
      expect(remove.status).toBe(202);
    });

    it('logs to a file', async () => {
      expect(await registry.readLog()).toMatch(/listening on 127\.0\.0\.1/);
    });
  });

  describe('with htpasswd auth', () => {
    let registry: RunningRegistry;
    const credentials = { user: 'tester', password: 's3cret!' };
    beforeAll(async () => {
      registry = await startRegistry({ htpasswd: credentials });
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it('answers 401 without credentials, or with wrong ones', async () => {
      const anonymous = await fetch(`${registry.url}/v2/`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="nerdctld-e2e"/);
      const wrong = await fetch(`${registry.url}/v2/`, {
        headers: { authorization: `Basic ${Buffer.from('tester:nope').toString('base64')}` },
      });
      expect(wrong.status).toBe(401);
    });

    it('answers 200 with credentials, and takes uploads with them', async () => {
      expect(registry.authorization).toBe(`Basic ${Buffer.from('tester:s3cret!').toString('base64')}`);
      const response = await fetch(`${registry.url}/v2/`, { headers: { authorization: registry.authorization! } });
      expect(response.status).toBe(200);
      await uploadBlob(registry, 'private/thing', Buffer.from('data'), { authorization: registry.authorization! });
    });
  });

  it('stop() kills the process, frees the port and removes its files', async () => {
    const registry = await startRegistry();
    expect(processExists(registry.pid)).toBe(true);
    expect(existsSync(registry.logPath)).toBe(true);
    await registry.stop();
    expect(processExists(registry.pid)).toBe(false);
    expect(await portAcceptsConnections(registry.port)).toBe(false);
    expect(existsSync(dirname(registry.logPath))).toBe(false);
    await registry.stop(); // idempotent
  });

  it('runs several registries side by side on different ports', async () => {
    const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
    try {
      expect(a!.port).not.toBe(b!.port);
      expect((await fetch(`${b!.url}/v2/`)).status).toBe(200);
    } finally {
      await Promise.all([a!.stop(), b!.stop()]);
    }
  });
});
