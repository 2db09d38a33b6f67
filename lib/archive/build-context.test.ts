import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTarHeader, packTar, type TarEntry } from "./tar-writer.ts";
import { dockerfileIn, receiveBuildContext } from "./build-context.ts";
import { checkSymlinkTarget, entryComponents } from "./extract.ts";

let parent: string;
beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), "build-context-test-"));
});
afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

const file = (name: string, content: string, mode = 0o644): TarEntry => ({ type: "file", name, mode, mtime: 1_700_000_000, content: Buffer.from(content) });

async function tar(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of packTar(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A hard link entry (packTar writes no hard links): a symlink header with type flag 1. */
function hardLinkHeader(name: string, target: string): Buffer {
  const header = encodeTarHeader({ type: "symlink", name, target });
  header[156] = "1".charCodeAt(0);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return header;
}

/** Bytes arriving in small pieces, as a request body does. */
function body(bytes: Buffer, piece = 700): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += piece) pieces.push(bytes.subarray(at, at + piece));
  return Readable.from(pieces);
}

async function leftovers(): Promise<string[]> {
  return readdir(parent);
}

async function refused(bytes: Buffer): Promise<string> {
  const error = await receiveBuildContext(body(bytes), { tmpDir: parent }).then(
    () => undefined,
    (caught: unknown) => caught as { kind?: string; message: string },
  );
  expect(error, "the context was accepted").toBeDefined();
  expect(error!.kind).toBe("invalid-parameter");
  expect(await leftovers()).toEqual([]);
  return error!.message;
}

describe("receiveBuildContext", () => {
  it("extracts files, directories, symlinks and hard links with their modes", async () => {
    const bytes = Buffer.concat([
      (await tar([
        file("Dockerfile", "FROM busybox\n"),
        { type: "directory", name: "bin", mode: 0o750, mtime: 1_600_000_000 },
        file("bin/run.sh", "#!/bin/sh\n", 0o755),
        { type: "symlink", name: "bin/latest", target: "run.sh" },
        { type: "symlink", name: "up", target: "bin/../Dockerfile" },
      ])).subarray(0, -1024),
      hardLinkHeader("copy.sh", "bin/run.sh"),
      Buffer.alloc(1024),
    ]);
    const dir = await receiveBuildContext(body(bytes), { tmpDir: parent });
    try {
      expect(await readFile(join(dir.context, "Dockerfile"), "utf8")).toBe("FROM busybox\n");
      expect((await stat(join(dir.context, "bin/run.sh"))).mode & 0o777).toBe(0o755);
      expect(Math.floor((await stat(join(dir.context, "bin/run.sh"))).mtimeMs / 1000)).toBe(1_700_000_000);
      expect((await stat(join(dir.context, "bin"))).mode & 0o777).toBe(0o750);
      expect(await readlink(join(dir.context, "bin/latest"))).toBe("run.sh");
      expect((await stat(join(dir.context, "copy.sh"))).ino).toBe((await stat(join(dir.context, "bin/run.sh"))).ino);
      expect((await stat(dir.root)).mode & 0o777).toBe(0o700);
      expect(await dockerfileIn(dir, "Dockerfile")).toBe(join(dir.context, "Dockerfile"));
    } finally {
      await dir.remove();
    }
    expect(await leftovers()).toEqual([]);
  });

  it("gives a file the archive's second plus a fraction from its content, so BuildKit sends a changed file again", async () => {
    const mtimes = async (entries: TarEntry[]) => {
      const dir = await receiveBuildContext(body(await tar(entries)), { tmpDir: parent });
      try {
        return await Promise.all(["a.txt", "b.txt"].map(async (name) => (await stat(join(dir.context, name), { bigint: true })).mtimeNs));
      } finally {
        await dir.remove();
      }
    };
    // Same names, sizes and archive mtime (0, as tarfile and many libraries write); contents differ, then repeat.
    const first = await mtimes([{ ...file("a.txt", "AAAA\n"), mtime: 0 }, { ...file("b.txt", "same\n"), mtime: 0 }]);
    const second = await mtimes([{ ...file("a.txt", "BBBB\n"), mtime: 0 }, { ...file("b.txt", "same\n"), mtime: 0 }]);
    expect(second[0]).not.toBe(first[0]);
    expect(second[1]).toBe(first[1]);
    for (const mtime of [...first, ...second]) {
      expect(mtime).toBeGreaterThan(0n);
      expect(mtime).toBeLessThan(1_000_000_000n);
    }
  });

  it("reads gzip, long names (pax) and an archive cut right after the last entry's data, as the docker CLI sends with -f outside the context", async () => {
    const long = `${"d".repeat(120)}/${"f".repeat(150)}.txt`;
    const whole = await tar([file(long, "long\n"), file("Dockerfile", "FROM busybox\n")]);
    // Go's archive/tar (dockerd) accepts an archive ending without padding or end blocks.
    const cut = whole.subarray(0, whole.length - 1024 - (512 - 13));
    for (const bytes of [gzipSync(whole), cut]) {
      const dir = await receiveBuildContext(body(bytes), { tmpDir: parent });
      expect(await readFile(join(dir.context, long), "utf8")).toBe("long\n");
      expect(await readFile(join(dir.context, "Dockerfile"), "utf8")).toBe("FROM busybox\n");
      await dir.remove();
    }
  });

  it("takes an empty body as an empty context (the Dockerfile is then missing, as dockerd says)", async () => {
    const dir = await receiveBuildContext(body(Buffer.alloc(0)), { tmpDir: parent });
    await expect(dockerfileIn(dir, "Dockerfile")).rejects.toMatchObject({ kind: "invalid-parameter", message: "Cannot locate specified Dockerfile: Dockerfile" });
    await dir.remove();
  });

  it.each([
    ["text", Buffer.from("this is not a tar archive\n"), /not a valid tar archive: unexpected end of data/],
    ["a corrupted header", Buffer.concat([Buffer.from("x".repeat(512)), Buffer.alloc(1024)]), /not a valid tar archive: header checksum mismatch/],
    ["broken gzip", Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]), /not a valid gzip stream/],
    ["bzip2", Buffer.from("BZh91AY&SY...."), /bzip2-compressed/],
  ])("refuses %s with a 400 and leaves nothing behind", async (_label, bytes, message) => {
    expect(await refused(bytes)).toMatch(message);
  });

  it.each([
    ["a ../ entry", [file("../evil", "x")], /"\.\.\/evil" points outside the context/],
    ["a nested ../ entry", [file("a/../../evil", "x")], /points outside the context/],
    ["an absolute path", [file("/etc/evil", "x")], /"\/etc\/evil" is an absolute path/],
    ["a symlink climbing out", [{ type: "symlink", name: "link", target: "../../../etc" } as TarEntry], /symbolic link "link" -> "..\/..\/..\/etc" points outside/],
    ["an absolute symlink", [{ type: "symlink", name: "passwd", target: "/etc/passwd" } as TarEntry], /absolute target/],
    [
      "a write through a symlink",
      [{ type: "symlink", name: "dir", target: "sub" } as TarEntry, { type: "directory", name: "sub" } as TarEntry, file("dir/x", "x")],
      /"dir\/x" goes through the symbolic link "dir"/,
    ],
    [
      "a symlink escaping through another symlink",
      [{ type: "symlink", name: "here", target: "." } as TarEntry, { type: "symlink", name: "out", target: "here/.." } as TarEntry],
      /symbolic link "out" points outside the context/,
    ],
    ["a device", [{ type: "file", name: "dev", content: Buffer.alloc(0) } as TarEntry], /device or FIFO/],
  ])("refuses %s before anything runs", async (label, entries, message) => {
    let bytes = await tar(entries as TarEntry[]);
    if (label === "a device") {
      bytes = Buffer.from(bytes);
      bytes[156] = "3".charCodeAt(0);
      bytes.fill(0x20, 148, 156);
      let sum = 0;
      for (const byte of bytes.subarray(0, 512)) sum += byte;
      bytes.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    }
    expect(await refused(bytes)).toMatch(message);
  });

  it("refuses a hard link to a file outside the context", async () => {
    const bytes = Buffer.concat([hardLinkHeader("passwd", "../../etc/passwd"), Buffer.alloc(1024)]);
    expect(await refused(bytes)).toMatch(/hard link target "..\/..\/etc\/passwd" points outside the context/);
  });

  it("refuses a context over the size limit, gzip bombs included", async () => {
    const bytes = gzipSync(await tar([file("Dockerfile", "FROM busybox\n"), file("big", "0".repeat(64 * 1024))]));
    const error = await receiveBuildContext(body(bytes), { tmpDir: parent, maxBytes: 16 * 1024 }).catch((caught: unknown) => caught as Error);
    expect(error).toMatchObject({ kind: "invalid-parameter", message: "the build context is larger than 16384 bytes" });
    expect(await leftovers()).toEqual([]);
  });

  it("removes the directory when the client goes away mid-upload", async () => {
    const whole = await tar([file("Dockerfile", "FROM busybox\n"), file("big", "0".repeat(256 * 1024))]);
    const controller = new AbortController();
    const slow = new Readable({ read() {} });
    slow.push(whole.subarray(0, 4096));
    const receiving = receiveBuildContext(slow, { tmpDir: parent, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await leftovers()).length).toBe(1);
    controller.abort();
    await expect(receiving).rejects.toThrow(/went away/);
    expect(await leftovers()).toEqual([]);
  });
});

describe("path checks", () => {
  it("normalises harmless spellings and refuses escapes", () => {
    expect(entryComponents("./a//b/./c/")).toEqual(["a", "b", "c"]);
    expect(entryComponents("./")).toEqual([]);
    expect(() => entryComponents("a/../b")).toThrow(/points outside/);
    expect(() => checkSymlinkTarget(["a", "l"], "../b")).not.toThrow();
    expect(() => checkSymlinkTarget(["a", "l"], "../../b")).toThrow(/points outside/);
    expect(() => checkSymlinkTarget(["l"], "x/../../y")).toThrow(/points outside/);
  });

  it("refuses a Dockerfile outside the context or that is not a file", async () => {
    const dir = await receiveBuildContext(body(await tar([{ type: "directory", name: "sub" }, { type: "symlink", name: "Link", target: "sub" }])), { tmpDir: parent });
    try {
      for (const name of ["../Dockerfile", "/etc/passwd", "sub", "Link", "nope"]) {
        await expect(dockerfileIn(dir, name)).rejects.toMatchObject({ kind: "invalid-parameter" });
      }
      expect((await lstat(join(dir.context, "Link"))).isSymbolicLink()).toBe(true);
    } finally {
      await dir.remove();
    }
  });
});
