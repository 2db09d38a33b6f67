/**
 * `npx tsx bench/archive.ts`: lib/archive's tar reader against tar-stream on
 * the two paths where nerdctld reads tar, with the same bytes in the same
 * chunks, parsing only (no disk, no child):
 *
 *   save     a 1 GiB image archive (one 1 GiB layer, its config, index.json,
 *            manifest.json) going by in 64 KiB chunks, as nerdctl save's pipe
 *            delivers it; the image names are read from the index files.
 *   context  a build context of many small files (default 50,000, 0–4 KiB),
 *            read entry by entry with every body consumed.
 *
 * Each round runs every reader once, in turn; the table has the median wall
 * time and CPU time (user + system) of the rounds. tar-stream is the one
 * Node resolves ("tar-stream"), or the package directory TAR_STREAM names.
 *
 *   --layer SIZE   the save archive's layer (default 1GiB)
 *   --files N      the context's file count (default 50000)
 *   --rounds N     default 5
 */
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { ArchiveNames } from "../lib/archive/image-archive.ts";
import { readTar } from "../lib/archive/tar-reader.ts";
import { packTar, type TarEntry } from "../lib/archive/tar-writer.ts";
import { parseSize } from "./size.ts";

interface TarStreamHeader {
  name: string;
  size: number;
  type: string;
}
interface TarStreamEntry extends AsyncIterable<Buffer> {
  header: TarStreamHeader;
  resume(): void;
}
interface TarStreamExtract extends AsyncIterable<TarStreamEntry> {
  write(chunk: Buffer): boolean;
  end(): void;
  once(event: "drain", listener: () => void): void;
  destroy(error?: Error): void;
}
interface TarStream {
  extract(): TarStreamExtract;
}

const CHUNK = 64 * 1024;

/** The archive's bytes in pipe-sized chunks, the first one short so that headers do not all start a chunk. */
function chunked(archive: Buffer): Buffer[] {
  const chunks = [archive.subarray(0, 1000)];
  for (let at = 1000; at < archive.length; at += CHUNK) chunks.push(archive.subarray(at, at + CHUNK));
  return chunks;
}

async function archiveOf(entries: TarEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of packTar(entries)) parts.push(part);
  return Buffer.concat(parts);
}

/** An OCI image archive as nerdctl save writes it, with a layer of layerBytes. */
async function imageArchive(layerBytes: number): Promise<Buffer> {
  const block = Buffer.alloc(CHUNK);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
  const file = (name: string, content: string): TarEntry => ({ type: "file", name, content: Buffer.from(content) });
  return archiveOf([
    { type: "directory", name: "blobs" },
    { type: "directory", name: "blobs/sha256" },
    {
      type: "file",
      name: `blobs/sha256/${digest(1).slice(7)}`,
      size: layerBytes,
      content: (function* () {
        for (let left = layerBytes; left > 0; left -= CHUNK) yield left >= CHUNK ? block : block.subarray(0, left);
      })(),
    },
    file(`blobs/sha256/${digest(2).slice(7)}`, JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [digest(1)] } })),
    file("index.json", JSON.stringify({ schemaVersion: 2, manifests: [{ digest: digest(3), annotations: { "io.containerd.image.name": "docker.io/library/bench:v1" } }] })),
    file("manifest.json", JSON.stringify([{ Config: `blobs/sha256/${digest(2).slice(7)}`, RepoTags: ["bench:v1"], Layers: [`blobs/sha256/${digest(1).slice(7)}`] }])),
    file("oci-layout", '{"imageLayoutVersion":"1.0.0"}'),
  ]);
}

/** A context of `files` small files (0–4 KiB) in 100 directories. */
function contextArchive(files: number): Promise<Buffer> {
  const entries: TarEntry[] = [{ type: "file", name: "Dockerfile", content: Buffer.from("FROM busybox\nCOPY . /src\n") }];
  for (let d = 0; d < 100; d++) entries.push({ type: "directory", name: `src/d${d}` });
  for (let i = 0; i < files; i++) {
    const size = (i * 7919) % 4096;
    entries.push({ type: "file", name: `src/d${i % 100}/file-${i}.txt`, mode: 0o644, mtime: 1_700_000_000, content: Buffer.alloc(size, i % 251) });
  }
  return archiveOf(entries);
}

async function* fromChunks(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) yield chunk;
}

/** Writes chunks into a tar-stream extractor with back-pressure, while `consume` reads its entries. */
async function throughTarStream(tarStream: TarStream, chunks: Buffer[], consume: (entry: TarStreamEntry) => Promise<void>): Promise<void> {
  const extract = tarStream.extract();
  const feeding = (async () => {
    for (const chunk of chunks) if (!extract.write(chunk)) await new Promise<void>((resolve) => extract.once("drain", resolve));
    extract.end();
  })();
  for await (const entry of extract) await consume(entry);
  await feeding;
}

const INDEX_FILES = new Set(["manifest.json", "index.json"]);

const readers = (tarStream: TarStream) => ({
  save: {
    "lib/archive (ArchiveNames)": async (chunks: Buffer[]) => {
      const names = new ArchiveNames();
      for (const chunk of chunks) names.feed(chunk);
      if (!names.complete || names.names().length !== 2) throw new Error("lib/archive: wrong names");
    },
    "tar-stream": async (chunks: Buffer[]) => {
      const files = new Map<string, Buffer>();
      await throughTarStream(tarStream, chunks, async (entry) => {
        if (!INDEX_FILES.has(entry.header.name)) return entry.resume();
        const parts: Buffer[] = [];
        for await (const part of entry) parts.push(part);
        files.set(entry.header.name, Buffer.concat(parts));
      });
      if (files.size !== 2) throw new Error("tar-stream: index files missing");
    },
  },
  context: {
    "lib/archive (readTar)": async (chunks: Buffer[]) => {
      let bytes = 0;
      for await (const event of readTar(fromChunks(chunks), { subject: "the build context" })) if (event.kind === "data") bytes += event.piece.length;
      if (bytes === 0) throw new Error("lib/archive: no bodies");
    },
    "tar-stream": async (chunks: Buffer[]) => {
      let bytes = 0;
      await throughTarStream(tarStream, chunks, async (entry) => {
        for await (const part of entry) bytes += part.length;
      });
      if (bytes === 0) throw new Error("tar-stream: no bodies");
    },
  },
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(run: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { layer: { type: "string" }, files: { type: "string" }, rounds: { type: "string" } } });
  const layerBytes = parseSize(values.layer ?? "1GiB", "--layer");
  const files = Number(values.files ?? 50_000);
  const rounds = Number(values.rounds ?? 5);
  const require = createRequire(import.meta.url);
  const tarStreamPath = require.resolve(process.env.TAR_STREAM ?? "tar-stream");
  const tarStream = require(tarStreamPath) as TarStream;
  const inputs = { save: chunked(await imageArchive(layerBytes)), context: chunked(await contextArchive(files)) };
  const sizes = Object.fromEntries(Object.entries(inputs).map(([path, chunks]) => [path, chunks.reduce((sum, chunk) => sum + chunk.length, 0)]));
  const results = new Map<string, { wall: number[]; cpu: number[] }>();
  const all = readers(tarStream);
  for (let round = 0; round <= rounds; round++) {
    for (const [path, byReader] of Object.entries(all)) {
      for (const [reader, run] of Object.entries(byReader)) {
        const chunks = inputs[path as keyof typeof inputs];
        const { wall, cpu } = await measure(() => run(chunks));
        // Round 0 warms the JIT and is not counted.
        if (round === 0) continue;
        const key = `${path}\t${reader}`;
        const row = results.get(key) ?? { wall: [], cpu: [] };
        row.wall.push(wall);
        row.cpu.push(cpu);
        results.set(key, row);
      }
    }
  }
  console.log(`tar-stream: ${tarStreamPath}; Node ${process.version}; ${rounds} rounds, medians`);
  console.log(`save: ${(sizes.save! / 1024 ** 3).toFixed(2)} GiB in ${inputs.save.length} chunks; context: ${files} files, ${(sizes.context! / 1024 ** 2).toFixed(1)} MiB in ${inputs.context.length} chunks`);
  console.log("| path | reader | wall ms | CPU ms | MiB/s (wall) |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const [key, row] of results) {
    const [path, reader] = key.split("\t") as [keyof typeof inputs, string];
    const wall = median(row.wall);
    console.log(`| ${path} | ${reader} | ${wall.toFixed(1)} | ${median(row.cpu).toFixed(1)} | ${(sizes[path]! / 1024 ** 2 / (wall / 1000)).toFixed(0)} |`);
  }
}

await main();
