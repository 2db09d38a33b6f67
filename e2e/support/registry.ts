// A throwaway image registry for the e2e tests: Debian's docker-registry (distribution 2.8) on a
// free loopback port, with its own storage and config in a temporary directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const DEFAULT_REGISTRY_BINARY = '/usr/bin/docker-registry';
const LOOPBACK = '127.0.0.1';

export interface RegistryCredentials {
  user: string;
  password: string;
}

export interface StartRegistryOptions {
  /** Require HTTP basic auth with these credentials (an htpasswd file with a bcrypt hash). */
  htpasswd?: RegistryCredentials;
  /** Path of the registry binary. Default /usr/bin/docker-registry. */
  binary?: string;
  /** How long to wait for GET /v2/ to answer. Default 20 s. */
  startTimeoutMs?: number;
}

export interface RunningRegistry {
  /** host:port, as used in image references: `${host}/busybox:latest`. */
  host: string;
  /** http://host:port */
  url: string;
  port: number;
  pid: number;
  /** The registry's log (stdout and stderr); removed by stop(). */
  logPath: string;
  /** Value for an Authorization header when started with htpasswd. */
  authorization?: string;
  readLog(): Promise<string>;
  /** SIGTERM, then SIGKILL after a grace period; removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/** Asks the kernel for a free port on loopback. Another process could take it before we use it: callers retry. */
async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

function registryConfig(port: number, storageDir: string, htpasswdPath: string | undefined): string {
  // YAML written by hand: JSON is valid YAML, and it spares us a dependency.
  const config = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', fields: { service: 'registry' } },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `${LOOPBACK}:${port}`,
      secret: randomBytes(16).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
    },
    health: { storagedriver: { enabled: false } },
    ...(htpasswdPath ? { auth: { htpasswd: { realm: 'nerdctld-e2e', path: htpasswdPath } } } : {}),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!isAlive(child)) return true;
  const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  return Promise.race([exited, sleep(timeoutMs, false)]);
}

async function waitUntilServing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(child)) throw new Error(`registry exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`registry did not answer GET /v2/ within ${timeoutMs} ms`);
}

async function tail(path: string, lines = 20): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The environment without REGISTRY_* variables, which would override the config file. */
function registryEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')));
}

async function startOnce(options: StartRegistryOptions, workDir: string, port: number): Promise<RunningRegistry> {
  const binary = options.binary ?? DEFAULT_REGISTRY_BINARY;
  let htpasswdPath: string | undefined;
  let authorization: string | undefined;
  if (options.htpasswd) {
    const { user, password } = options.htpasswd;
    if (user.includes(':') || user.includes('\n')) throw new Error('htpasswd user must not contain ":" or a newline');
    htpasswdPath = join(workDir, 'htpasswd');
    await writeFile(htpasswdPath, `${user}:${bcryptHash(password)}\n`, { mode: 0o600 });
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  const configPath = join(workDir, `config-${port}.yml`);
  await writeFile(configPath, registryConfig(port, join(workDir, 'storage'), htpasswdPath));

  const logPath = join(workDir, 'registry.log');
  const log = await open(logPath, 'a');
  let child: ChildProcess;
  let spawned: Promise<void>;
  try {
    child = spawn(binary, ['serve', configPath], {
      stdio: ['ignore', log.fd, log.fd],
      env: registryEnvironment(),
      cwd: workDir,
    });
    // Listen before awaiting anything: 'spawn' fires on the next tick.
    spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } finally {
    await log.close();
  }
  await spawned;

  // If the test process exits without calling stop() (a crash, a killed worker), take the registry along.
  const killOnExit = (): void => {
    if (isAlive(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const host = `${LOOPBACK}:${port}`;
  const url = `http://${host}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (isAlive(child)) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 5000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 5000);
        }
      }
      await rm(workDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    await waitUntilServing(url, child, options.startTimeoutMs ?? 20_000);
  } catch (error) {
    const logTail = await tail(logPath);
    process.removeListener('exit', killOnExit);
    if (isAlive(child)) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
    throw new Error(`${(error as Error).message}\n--- registry log ---\n${logTail}`, { cause: error });
  }
  return {
    host,
    url,
    port,
    pid: child.pid!,
    logPath,
    ...(authorization ? { authorization } : {}),
    readLog: () => readFile(logPath, 'utf8'),
    stop,
  };
}

/** Starts docker-registry on 127.0.0.1 and resolves once GET /v2/ answers. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const workDir = await mkdtemp(join(tmpdir(), 'nerdctld-registry-'));
  let lastError: unknown;
  try {
    // A port can be taken between probing and binding; a fresh one usually works.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await startOnce(options, workDir, await freeLoopbackPort());
      } catch (error) {
        lastError = error;
        if (!/address already in use/i.test(String((error as Error).message))) break;
      }
    }
  } catch (error) {
    lastError = error;
  }
  await rm(workDir, { recursive: true, force: true });
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// bcrypt, for the htpasswd file: Node has no bcrypt built in, and apache2-utils' htpasswd is not
// installed here. Blowfish's initial state is the fractional hex digits of pi, so they are
// computed (Machin's formula on BigInts) rather than pasted in as a 4 KiB table.

const BLOWFISH_WORDS = 18 + 4 * 256;
let blowfishInitialState: Uint32Array | undefined;

function arctanInverse(x: bigint, scale: bigint): bigint {
  // atan(1/x) * scale = sum over k of (-1)^k * scale / ((2k+1) * x^(2k+1))
  let power = scale / x;
  let sum = power;
  const xSquared = x * x;
  for (let k = 1n; power !== 0n; k++) {
    power /= xSquared;
    const term = power / (2n * k + 1n);
    sum += k % 2n === 1n ? -term : term;
  }
  return sum;
}

/** P-array then S-boxes: the first 1042 32-bit words of pi's fractional part. */
export function blowfishPiWords(): Uint32Array {
  if (blowfishInitialState) return blowfishInitialState;
  const bits = BigInt(BLOWFISH_WORDS * 32);
  const guard = 64n;
  const scale = 1n << (bits + guard);
  const pi = 16n * arctanInverse(5n, scale) - 4n * arctanInverse(239n, scale);
  const fraction = (pi - 3n * scale) >> guard;
  const words = new Uint32Array(BLOWFISH_WORDS);
  for (let i = 0; i < BLOWFISH_WORDS; i++) {
    words[i] = Number((fraction >> (bits - 32n * BigInt(i + 1))) & 0xffffffffn);
  }
  blowfishInitialState = words;
  return words;
}

class Blowfish {
  readonly p: Uint32Array;
  readonly s: Uint32Array; // four S-boxes of 256 words, back to back

  constructor() {
    const initial = blowfishPiWords();
    this.p = initial.slice(0, 18);
    this.s = initial.slice(18);
  }

  private f(x: number): number {
    const s = this.s;
    return (((s[x >>> 24]! + s[256 + ((x >>> 16) & 0xff)]!) ^ s[512 + ((x >>> 8) & 0xff)]!) + s[768 + (x & 0xff)]!) >>> 0;
  }

  /** Encrypts the pair in place: block[offset], block[offset + 1]. */
  encrypt(block: Uint32Array, offset: number): void {
    let left = block[offset]!;
    let right = block[offset + 1]!;
    for (let round = 0; round < 16; round += 2) {
      left ^= this.p[round]!;
      right ^= this.f(left);
      right ^= this.p[round + 1]!;
      left ^= this.f(right);
    }
    block[offset] = (right ^ this.p[17]!) >>> 0;
    block[offset + 1] = (left ^ this.p[16]!) >>> 0;
  }

  /** The expensive key schedule: mixes `key` into P, then re-keys P and S with salt-fed encryptions. */
  expand(key: Uint8Array, salt: Uint8Array | undefined): void {
    const keyStream = cyclicWords(key);
    for (let i = 0; i < 18; i++) this.p[i] = (this.p[i]! ^ keyStream()) >>> 0;
    const saltStream = salt ? cyclicWords(salt) : () => 0;
    const block = new Uint32Array(2);
    const refill = (target: Uint32Array, count: number): void => {
      for (let i = 0; i < count; i += 2) {
        block[0] = (block[0]! ^ saltStream()) >>> 0;
        block[1] = (block[1]! ^ saltStream()) >>> 0;
        this.encrypt(block, 0);
        target[i] = block[0]!;
        target[i + 1] = block[1]!;
      }
    };
    refill(this.p, 18);
    refill(this.s, 1024);
  }
}

/** Reads big-endian words from bytes, wrapping around at the end. */
function cyclicWords(bytes: Uint8Array): () => number {
  let position = 0;
  return () => {
    let word = 0;
    for (let i = 0; i < 4; i++) {
      word = ((word << 8) | bytes[position]!) >>> 0;
      position = (position + 1) % bytes.length;
    }
    return word;
  };
}

const STANDARD_BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BCRYPT_BASE64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function bcryptBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('base64')
    .replace(/=+$/, '')
    .replace(/./g, (char) => BCRYPT_BASE64[STANDARD_BASE64.indexOf(char)]!);
}

function bcryptBase64Decode(text: string): Buffer {
  const standard = text.replace(/./g, (char) => {
    const index = BCRYPT_BASE64.indexOf(char);
    if (index === -1) throw new Error(`invalid bcrypt base64 character ${JSON.stringify(char)}`);
    return STANDARD_BASE64[index]!;
  });
  return Buffer.from(standard, 'base64');
}

/**
 * bcrypt ($2y$, as Apache's htpasswd -B writes it; same algorithm as $2b$), which distribution's
 * htpasswd auth checks. `salt` is 22 bcrypt-base64 characters; random when omitted.
 */
export function bcryptHash(password: string, cost = 5, salt?: string): string {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error(`bcrypt cost must be 4..31, got ${cost}`);
  const passwordBytes = Buffer.from(password, 'utf8');
  if (passwordBytes.byteLength > 72) throw new Error('bcrypt passwords are limited to 72 bytes');
  const key = Buffer.concat([passwordBytes, Buffer.alloc(1)]); // the trailing NUL is part of the key
  const saltText = salt ?? bcryptBase64(randomBytes(16));
  const saltBytes = bcryptBase64Decode(saltText);
  if (saltText.length !== 22 || saltBytes.byteLength !== 16) throw new Error('bcrypt salt must be 22 characters');

  const cipher = new Blowfish();
  cipher.expand(key, saltBytes);
  for (let round = 0; round < 2 ** cost; round++) {
    cipher.expand(key, undefined);
    cipher.expand(saltBytes, undefined);
  }
  const magic = Buffer.from('OrpheanBeholderScryDoubt', 'ascii');
  const block = new Uint32Array(6);
  for (let i = 0; i < 6; i++) block[i] = magic.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) {
    for (let pair = 0; pair < 6; pair += 2) cipher.encrypt(block, pair);
  }
  const digest = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) digest.writeUInt32BE(block[i]!, i * 4);
  // bcrypt encodes only 23 of the 24 bytes: a quirk of the original implementation, kept by all.
  return `$2y$${String(cost).padStart(2, '0')}$${bcryptBase64(saltBytes)}${bcryptBase64(digest.subarray(0, 23))}`;
}
