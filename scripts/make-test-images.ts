// Writes the locally made test image archives, for scripts and benchmarks:
//   tsx scripts/make-test-images.ts --out /tmp/busybox.tar
//   tsx scripts/make-test-images.ts --out /tmp/busybox.tar --large-out /tmp/large.tar --large-size 512MiB
// Prints a JSON summary (paths, references, image ids) on stdout.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DEFAULT_BUSYBOX_PATH,
  DEFAULT_BUSYBOX_REFERENCE,
  DEFAULT_PLATFORM,
  writeBusyboxImage,
  writeLargeImage,
  type WrittenImage,
} from '../e2e/support/images.ts';

const USAGE = `Usage: make-test-images --out <busybox.tar> [options]

  --out <path>              where to write the busybox image archive (required)
  --reference <ref>         reference of the busybox image (default ${DEFAULT_BUSYBOX_REFERENCE})
  --platform <os/arch>      platform written to the image (default ${DEFAULT_PLATFORM})
  --busybox <path>          static busybox binary to package (default ${DEFAULT_BUSYBOX_PATH})
  --large-out <path>        also write a large image (busybox + a layer of random data)
  --large-size <size>       size of the random data: bytes, or with K/M/G/KiB/MiB/GiB (default 256MiB)
  --large-reference <ref>   reference of the large image (default docker.io/library/nerdctld-large:latest)
  --seed <text>             seed of the random data (default nerdctld-large-image)
  -h, --help                show this help
`;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Parses "1048576", "512MiB", "1G", "64k" (binary units: these are test data, not disks). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const multiplier = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || multiplier === undefined) throw new Error(`invalid size ${JSON.stringify(text)}`);
  const bytes = Math.round(Number(match[1]) * multiplier);
  if (!Number.isSafeInteger(bytes)) throw new Error(`size too large: ${text}`);
  return bytes;
}

function summary(image: WrittenImage): Record<string, unknown> {
  return {
    path: image.path,
    reference: image.reference,
    repoTag: image.repoTag,
    imageId: image.imageId,
    manifestDigest: image.manifest.digest,
    layers: image.layers.map((layer) => ({ digest: layer.digest, size: layer.size })),
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      out: { type: 'string' },
      reference: { type: 'string' },
      platform: { type: 'string' },
      busybox: { type: 'string' },
      'large-out': { type: 'string' },
      'large-size': { type: 'string' },
      'large-reference': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.out) {
    process.stderr.write(`make-test-images: --out is required\n\n${USAGE}`);
    return 2;
  }
  const common = {
    ...(values.platform ? { platform: values.platform } : {}),
    ...(values.busybox ? { busyboxPath: values.busybox } : {}),
  };
  const written: Record<string, unknown> = {};
  written.busybox = summary(
    await writeBusyboxImage(values.out, { ...common, ...(values.reference ? { reference: values.reference } : {}) }),
  );
  if (values['large-out']) {
    const large = await writeLargeImage(values['large-out'], {
      ...common,
      sizeBytes: parseSize(values['large-size'] ?? '256MiB'),
      ...(values['large-reference'] ? { reference: values['large-reference'] } : {}),
      ...(values.seed ? { seed: values.seed } : {}),
    });
    written.large = summary(large);
  }
  process.stdout.write(`${JSON.stringify(written, null, 2)}\n`);
  return 0;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`make-test-images: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
