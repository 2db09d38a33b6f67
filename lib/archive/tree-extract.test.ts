import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfinedRoot, TreeError, type MountPoint } from "./confined-root.ts";
import { packTar, type TarEntry } from "./tar-writer.ts";
import { unpackInto, UnpackError, type UnpackOptions } from "./tree-extract.ts";

let work: string;
let tree: string;
let outside: string;
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "tree-extract-"));
  tree = join(work, "tree");
  outside = join(work, "outside");
  await mkdir(join(tree, "dest"), { recursive: true });
  await mkdir(join(tree, "etc"));
  await mkdir(outside);
  await writeFile(join(outside, "secret"), "host secret\n");
  // What a hostile container may hold: links that point at the host's paths.
  await symlink(`/../../../..${outside}`, join(tree, "data"));
  await symlink(outside, join(tree, "etc", "x"));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const owned = <T extends TarEntry>(entry: T): T => ({ uid, gid, ...entry });

async function unpack(entries: TarEntry[], dest = "/dest", options: Partial<UnpackOptions> = {}, mounts: MountPoint[] = []): Promise<void> {
  const root = await ConfinedRoot.open(tree, mounts);
  try {
    await unpackInto(root, dest, packTar(entries.map(owned)) as AsyncIterable<Buffer>, { noOverwriteDirNonDir: false, ...options });
  } finally {
    await root.close();
  }
}

/** The host directory beside the tree, as it was made: nothing added, nothing changed. */
async function expectOutsideUntouched(): Promise<void> {
  expect(await readdir(outside)).toEqual(["secret"]);
  expect(await readFile(join(outside, "secret"), "utf8")).toBe("host secret\n");
  expect((await readdir(work)).sort()).toEqual(["outside", "tree"]);
}

async function tarBytes(entries: TarEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of packTar(entries.map(owned))) parts.push(part);
  return Buffer.concat(parts);
}

const file = (name: string, content = "x", extra: Partial<TarEntry> = {}): TarEntry => ({ type: "file", name, content: Buffer.from(content), ...extra }) as TarEntry;

describe("unpackInto", () => {
  it("makes files, directories and links with the archive's modes and times", async () => {
    await unpack([
      { type: "directory", name: "dir/", mode: 0o750, mtime: 1_000_000 },
      file("dir/tool", "#!/bin/sh\n", { mode: 0o4755, mtime: 2_000_000 }),
      { type: "symlink", name: "dir/link", target: "tool" },
      // A hard link's header gives its inode a mode and times, as the file's own does.
      { type: "hardlink", name: "dir/again", target: "dir/tool", mode: 0o4755, mtime: 2_000_000 },
      { type: "fifo", name: "dir/pipe", mode: 0o600 },
    ]);
    const dir = join(tree, "dest", "dir");
    expect((await stat(dir)).mode & 0o7777).toBe(0o750);
    expect((await stat(dir)).mtimeMs).toBe(1_000_000_000);
    const tool = await stat(join(dir, "tool"));
    expect([tool.mode & 0o7777, tool.mtimeMs, tool.nlink]).toEqual([0o4755, 2_000_000_000, 2]);
    expect(await readlink(join(dir, "link"))).toBe("tool");
    expect((await lstat(join(dir, "pipe"))).isFIFO()).toBe(true);
  });

  it("refuses names that climb out of the destination, and lands absolute ones inside it", async () => {
    await expect(unpack([file("../escaped")])).rejects.toEqual(new UnpackError('"../escaped" is outside of "/dest"'));
    await expect(unpack([file("a/../../escaped")])).rejects.toThrow("is outside of");
    await unpack([file("/abs/file", "inside")]);
    expect(await readFile(join(tree, "dest", "abs", "file"), "utf8")).toBe("inside");
    expect(await readdir(tree)).not.toContain("escaped");
    await expectOutsideUntouched();
  });

  it("refuses links whose target climbs out of the destination", async () => {
    await expect(unpack([{ type: "symlink", name: "up", target: "../../etc" }])).rejects.toThrow('invalid symlink "/dest/up" -> "../../etc"');
    await expect(unpack([{ type: "hardlink", name: "h", target: "../etc/x" }])).rejects.toThrow('invalid hardlink "/etc/x" -> "../etc/x"');
    // An absolute target is the container's own path: allowed, and inert on the host.
    await unpack([{ type: "symlink", name: "abs", target: "/etc/passwd" }]);
    expect(await readlink(join(tree, "dest", "abs"))).toBe("/etc/passwd");
    await expectOutsideUntouched();
  });

  it("writes through the container's links inside the container, never on the host", async () => {
    await expect(unpack([file("data/pwned")], "/")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(unpack([file("etc/x/pwned")], "/")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(unpack([{ type: "hardlink", name: "stolen", target: "data/secret" }], "/")).rejects.toMatchObject({ code: "ENOENT" });
    await expectOutsideUntouched();
    // The same path made inside the tree: that is where the writes go.
    await mkdir(join(tree, outside), { recursive: true });
    await unpack([file("data/pwned", "one"), file("etc/x/pwned2", "two")], "/");
    expect(await readFile(join(tree, outside, "pwned"), "utf8")).toBe("one");
    expect(await readFile(join(tree, outside, "pwned2"), "utf8")).toBe("two");
    await expectOutsideUntouched();
  });

  it("replaces an entry of another kind, unless noOverwriteDirNonDir forbids it", async () => {
    await mkdir(join(tree, "dest", "was-dir", "deep"), { recursive: true });
    await writeFile(join(tree, "dest", "was-file"), "old");
    await expect(unpack([file("was-dir")], "/dest", { noOverwriteDirNonDir: true })).rejects.toThrow(
      'cannot overwrite directory "/dest/was-dir" with non-directory "/dest"',
    );
    await expect(unpack([{ type: "directory", name: "was-file" }], "/dest", { noOverwriteDirNonDir: true })).rejects.toThrow(
      'cannot overwrite non-directory "/dest/was-file" with directory "/dest"',
    );
    await unpack([file("was-dir", "now a file"), { type: "directory", name: "was-file" }]);
    expect(await readFile(join(tree, "dest", "was-dir"), "utf8")).toBe("now a file");
    expect((await stat(join(tree, "dest", "was-file"))).isDirectory()).toBe(true);
  });

  it("replaces a link with the entry, not what it points to", async () => {
    await symlink("/etc/x", join(tree, "dest", "link"));
    await unpack([file("link", "plain")]);
    expect(await readFile(join(tree, "dest", "link"), "utf8")).toBe("plain");
    await expectOutsideUntouched();
  });

  it("makes the parents the archive lacks, and gives one owner to all when asked", async () => {
    await unpack([file("a/b/c", "deep")], "/dest", { owner: { uid, gid } });
    const parent = await stat(join(tree, "dest", "a", "b"));
    expect([parent.isDirectory(), parent.mode & 0o777]).toEqual([true, 0o755]);
    expect((await stat(join(tree, "dest", "a", "b", "c"))).uid).toBe(uid);
  });

  it("writes a file of several MiB coming in small pieces whole, and the entries after it", async () => {
    const content = Buffer.alloc(5 * 1024 * 1024 + 123);
    for (let i = 0; i < content.length; i += 4096) content.writeUInt32BE(i, i);
    const root = await ConfinedRoot.open(tree);
    try {
      const archive = await tarBytes([file("before", "b"), { type: "file", name: "big", content }, file("after", "a")]);
      // Pieces as a request delivers them, 16 KiB at a time.
      const source = (async function* () {
        for (let at = 0; at < archive.length; at += 16 * 1024) yield archive.subarray(at, at + 16 * 1024);
      })();
      await unpackInto(root, "/dest", source, { noOverwriteDirNonDir: false });
    } finally {
      await root.close();
    }
    expect((await readFile(join(tree, "dest", "big"))).equals(content)).toBe(true);
    expect(await readFile(join(tree, "dest", "before"), "utf8")).toBe("b");
    expect(await readFile(join(tree, "dest", "after"), "utf8")).toBe("a");
  });

  it("stops cleanly when the archive ends inside a large file", async () => {
    const content = Buffer.alloc(5 * 1024 * 1024, 1);
    const root = await ConfinedRoot.open(tree);
    try {
      const archive = await tarBytes([{ type: "file", name: "cut", content }]);
      const source = (async function* () {
        for (let at = 0; at < 3 * 1024 * 1024; at += 64 * 1024) yield archive.subarray(at, at + 64 * 1024);
      })();
      await expect(unpackInto(root, "/dest", source, { noOverwriteDirNonDir: false })).rejects.toEqual(new UnpackError("unexpected EOF"));
    } finally {
      await root.close();
    }
    expect((await stat(join(tree, "dest", "cut"))).size).toBeLessThanOrEqual(3 * 1024 * 1024);
  });

  it("keeps mounts: read-only ones refuse writes, mount points are not replaced", async () => {
    const volume = join(work, "volume");
    const readonly = join(work, "readonly");
    await mkdir(volume);
    await mkdir(readonly);
    const mounts = [
      { path: "/dest/vol", source: volume, readonly: false },
      { path: "/dest/ro", source: readonly, readonly: true },
    ];
    await unpack([file("vol/in-volume", "v")], "/dest", {}, mounts);
    expect(await readFile(join(volume, "in-volume"), "utf8")).toBe("v");
    await expect(unpack([file("ro/refused")], "/dest", {}, mounts)).rejects.toEqual(new TreeError("open", "/dest/ro/refused", "EROFS"));
    await expect(unpack([file("vol")], "/dest", {}, mounts)).rejects.toMatchObject({ code: "EBUSY" });
    expect(await readdir(readonly)).toEqual([]);
  });

  it.each([
    ["a header that is not one", Buffer.alloc(512, 0x41), "archive/tar: invalid tar header"],
    ["an archive cut short", Buffer.from("x\n"), "unexpected EOF"],
  ])("words %s as Go's archive/tar does", async (_label, bytes, message) => {
    const root = await ConfinedRoot.open(tree);
    try {
      const source = (async function* () {
        yield bytes;
      })();
      await expect(unpackInto(root, "/dest", source, { noOverwriteDirNonDir: false })).rejects.toEqual(new UnpackError(message));
    } finally {
      await root.close();
    }
  });
});
