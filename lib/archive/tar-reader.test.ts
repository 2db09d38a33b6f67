import { describe, expect, it } from "vitest";
import { ArchiveNames } from "./image-archive.ts";
import { readTar } from "./tar-reader.ts";
import { packTar, type TarEntry } from "./tar-writer.ts";

async function archiveOf(entries: TarEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of packTar(entries)) parts.push(part);
  return Buffer.concat(parts);
}

async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function entriesOf(bytes: Buffer, size: number): Promise<{ name: string; type: string; linkname: string; body: string }[]> {
  const entries: { name: string; type: string; linkname: string; body: string }[] = [];
  for await (const event of readTar(pieces(bytes, size), { subject: "the archive" })) {
    if (event.kind === "entry") entries.push({ name: event.header.name, type: event.header.type, linkname: event.header.linkname, body: "" });
    else if (event.kind === "data") entries.at(-1)!.body += event.piece.toString();
  }
  return entries;
}

describe("readTar", () => {
  const long = `${"d".repeat(120)}/naïve.txt`;
  const entries: TarEntry[] = [
    { type: "directory", name: "dir" },
    { type: "file", name: long, content: Buffer.from("long name\n") },
    { type: "symlink", name: "link", target: `../${"t".repeat(110)}` },
    { type: "file", name: "big", content: Buffer.alloc(3000, "x") },
  ];

  it("reads what the writer wrote, pax names included, whatever the chunking", async () => {
    const bytes = await archiveOf(entries);
    for (const size of [1, 100, 512, 4096]) {
      expect(await entriesOf(bytes, size)).toEqual([
        { name: "dir/", type: "5", linkname: "", body: "" },
        { name: long, type: "0", linkname: "", body: "long name\n" },
        { name: "link", type: "2", linkname: `../${"t".repeat(110)}`, body: "" },
        { name: "big", type: "0", linkname: "", body: "x".repeat(3000) },
      ]);
    }
  });

  it("refuses an archive cut inside a header or a body, and one over its size limit", async () => {
    const bytes = await archiveOf(entries);
    await expect(entriesOf(bytes.subarray(0, 700), 512)).rejects.toThrow("the archive is not a valid tar archive: unexpected end of data");
    const read = async () => {
      for await (const _event of readTar(pieces(bytes, 512), { subject: "the archive", maxBytes: 2048 }));
    };
    await expect(read()).rejects.toMatchObject({ kind: "invalid-parameter", message: "the archive is larger than 2048 bytes" });
  });
});

describe("ArchiveNames' fingerprint", () => {
  it("is the same for the same bytes read in other chunks, and differs when a header does", async () => {
    const bytes = await archiveOf([{ type: "file", name: "manifest.json", content: Buffer.from('[{"RepoTags":["a:1"]}]') }]);
    const at = (archive: Buffer, size: number, upTo: number) => {
      const names = new ArchiveNames();
      for (let offset = 0; offset < upTo; offset += size) names.feed(archive.subarray(offset, Math.min(offset + size, upTo)));
      return names.fingerprint;
    };
    expect(at(bytes, 7, 300)).toBe(at(bytes, 512, 300));
    const other = Buffer.from(bytes);
    other[10] = other[10]! ^ 1;
    expect(at(other, 7, 300)).not.toBe(at(bytes, 7, 300));
  });
});
