import { crc32 } from "node:zlib";
import { TarParser } from "./tar-parser.ts";

/** The index files kept (their size at most): everything else is counted, never kept. */
const CAPTURED_FILES = new Set(["manifest.json", "index.json"]);
const MAX_CAPTURED = 1024 * 1024;

/**
 * Watches an image archive go by (a tar stream, in chunks): keeps only its
 * small index files, to name the images it holds (manifest.json's RepoTags,
 * index.json's image names), and notices whether the archive ends properly.
 * Memory stays bounded whatever the archive's size: layer bodies are counted,
 * never kept.
 *
 * It also keeps a fingerprint of what went by: a CRC-32 of every header and of
 * every body except the blobs'. A blob is named by its digest, so two archives
 * read to the same point with the same fingerprint hold the same bytes up to
 * it, and the check costs nothing per layer byte. An archive that stops being
 * one has no fingerprint (NaN equals nothing): it is never taken for another.
 */
export class ArchiveNames {
  #fingerprint = 0;
  /** The current entry is a content-addressed blob: its body stays out of the fingerprint. */
  #inBlob = false;
  #capture: { name: string; chunks: Buffer[] } | undefined;
  #broken = false;
  readonly #files = new Map<string, Buffer>();
  readonly #parser = new TarParser(
    {
      block: (block) => this.#add(block),
      metadata: (piece) => this.#add(piece),
      entry: (header) => {
        const name = header.name.replace(/^\.\//, "");
        this.#inBlob = name.startsWith("blobs/");
        const regular = header.type === "0" || header.type === "\0";
        this.#capture = regular && CAPTURED_FILES.has(name) && header.size <= MAX_CAPTURED ? { name, chunks: [] } : undefined;
      },
      data: (piece) => {
        if (!this.#inBlob) this.#add(piece);
        this.#capture?.chunks.push(Buffer.from(piece));
      },
      entryEnd: () => {
        if (this.#capture) this.#files.set(this.#capture.name, Buffer.concat(this.#capture.chunks));
        this.#capture = undefined;
      },
    },
    { subject: "the image archive" },
  );

  feed(chunk: Buffer): void {
    if (this.#broken || this.#parser.complete) return;
    try {
      this.#parser.feed(chunk);
    } catch {
      this.#broken = true;
    }
  }

  /** The end-of-archive marker (two zero blocks) went by: the archive is whole. */
  get complete(): boolean {
    return this.#parser.complete;
  }

  /** What went by so far, headers and small files (see the class comment). */
  get fingerprint(): number {
    if (this.#broken) return Number.NaN;
    const pending = this.#parser.pending;
    return pending.length > 0 ? crc32(pending, this.#fingerprint) : this.#fingerprint;
  }

  #add(bytes: Buffer): void {
    this.#fingerprint = crc32(bytes, this.#fingerprint);
  }

  /** The image names the archive declares, as it spells them (`busybox:latest`, `docker.io/library/busybox:latest`). */
  names(): string[] {
    return [...new Set([...this.#json("manifest.json", repoTags), ...this.#json("index.json", indexNames)])];
  }

  /** What a captured file names; nothing when it is missing or unreadable (nerdctl will say what is wrong with the archive). */
  #json(file: string, read: (document: unknown) => unknown[]): string[] {
    const content = this.#files.get(file);
    if (!content) return [];
    try {
      return read(JSON.parse(content.toString("utf8"))).filter((name): name is string => typeof name === "string" && name !== "");
    } catch {
      return [];
    }
  }
}

const repoTags = (document: unknown): unknown[] => (document as { RepoTags?: unknown[] }[]).flatMap((entry) => entry.RepoTags ?? []);

const indexNames = (document: unknown): unknown[] =>
  ((document as { manifests?: { annotations?: Record<string, string> }[] }).manifests ?? []).map((manifest) => manifest.annotations?.["io.containerd.image.name"]);
