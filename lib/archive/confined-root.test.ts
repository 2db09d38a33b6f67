import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, truncate, writeFile, link } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConfinedRoot, TreeError, walkComponents } from "./confined-root.ts";
import { followSymlinkInScope, statPath } from "./path-stat.ts";
import { readTar } from "./tar-reader.ts";
import { archivePath } from "./tree-archive.ts";

let work: string;
/** The tree as a container holds it, and a host directory beside it that nothing may reach. */
let tree: string;
let outside: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "confined-root-"));
  tree = join(work, "tree");
  outside = join(work, "outside");
  await mkdir(join(tree, "etc"), { recursive: true });
  await mkdir(join(tree, "d", "sub"), { recursive: true });
  await mkdir(outside);
  await writeFile(join(tree, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(outside, "secret"), "host secret\n");
  // Links a container may hold: they must resolve inside the tree, never on the host.
  await symlink(`/../../../..${outside}`, join(tree, "data"));
  await symlink(outside, join(tree, "etc", "x"));
  await symlink("../../../../../..", join(tree, "d", "up"));
  await symlink("sub", join(tree, "d", "s"));
  await symlink("/loop2", join(tree, "loop1"));
  await symlink("/loop1", join(tree, "loop2"));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function entryNames(root: ConfinedRoot, path: string, isDir: boolean): Promise<string[]> {
  const names: string[] = [];
  for await (const event of readTar(archivePath(root, path, isDir), { subject: "test" })) {
    if (event.kind === "entry") names.push(`${event.header.type}:${event.header.name}${event.header.linkname ? ` -> ${event.header.linkname}` : ""}`);
  }
  return names;
}

describe("walkComponents", () => {
  it.each([
    ["/etc/passwd", ["etc", "passwd"]],
    ["etc//passwd", ["etc", "passwd"]],
    ["/etc/", ["etc", "."]],
    ["/etc/.", ["etc", "."]],
    ["/a/./b/../c", ["a", "b", "..", "c"]],
    ["/", []],
    ["/..", [".."]],
  ])("%s", (path, parts) => {
    expect(walkComponents(path)).toEqual(parts);
  });
});

describe("ConfinedRoot.locate", () => {
  it("resolves absolute and climbing links inside the root", async () => {
    const root = await ConfinedRoot.open(tree);
    try {
      await expect(root.locate("/data/secret", { follow: true, op: "lstat", shown: "/data/secret" })).rejects.toMatchObject({ code: "ENOENT" });
      await expect(root.locate("/etc/x/secret", { follow: true, op: "lstat", shown: "/etc/x/secret" })).rejects.toMatchObject({ code: "ENOENT" });
      const up = await root.locate("/d/up/etc/passwd", { follow: true, op: "lstat", shown: "x" });
      expect(up.path).toBe("/etc/passwd");
      await up.dir.release();
      const parent = await root.locate("/../../..", { follow: true, op: "lstat", shown: "x" });
      expect([parent.path, parent.name]).toEqual(["/", undefined]);
    } finally {
      await root.close();
    }
  });

  it("follows a last link only when asked, or when a slash follows it", async () => {
    const root = await ConfinedRoot.open(tree);
    try {
      const link = await root.locate("/d/s", { follow: false, op: "lstat", shown: "x" });
      expect(link).toMatchObject({ name: "s", path: "/d/s" });
      await link.dir.release();
      const followed = await root.locate("/d/s/", { follow: false, op: "lstat", shown: "x" });
      expect([followed.path, followed.name]).toEqual(["/d/sub", undefined]);
      await followed.dir.release();
    } finally {
      await root.close();
    }
  });

  it("reports a loop and a file used as a directory as the kernel does", async () => {
    const root = await ConfinedRoot.open(tree);
    try {
      await expect(root.locate("/loop1/", { follow: false, op: "lstat", shown: "/loop1/" })).rejects.toEqual(new TreeError("lstat", "/loop1/", "ELOOP"));
      await expect(root.locate("/etc/passwd/x", { follow: false, op: "lstat", shown: "/etc/passwd/x" })).rejects.toMatchObject({ code: "ENOTDIR" });
    } finally {
      await root.close();
    }
  });

  it("lays mounts over the tree: a directory and a file", async () => {
    const volume = join(work, "volume");
    await mkdir(volume);
    await writeFile(join(volume, "inside"), "from the volume\n");
    await writeFile(join(work, "hosts"), "127.0.0.1 localhost\n");
    const root = await ConfinedRoot.open(tree, [
      { path: "/vol", source: volume, readonly: false },
      { path: "/etc/hosts", source: join(work, "hosts"), readonly: true },
    ]);
    try {
      expect((await statPath(root, "/vol/inside")).size).toBe(16);
      expect(await root.readFile("/etc/hosts", 100)).toBe("127.0.0.1 localhost\n");
      expect(await entryNames(root, "/vol", true)).toEqual(["5:vol/", "0:vol/inside"]);
      expect(root.hasMountsUnder("/etc")).toBe(true);
      expect(root.hasMountsUnder("/d")).toBe(false);
    } finally {
      await root.close();
    }
  });
});

describe("statPath", () => {
  it("stats a link itself and resolves its target in the root's scope", async () => {
    const root = await ConfinedRoot.open(tree);
    try {
      const data = await statPath(root, "/data");
      expect(data).toMatchObject({ name: "data", linkTarget: outside });
      expect(data.mode & 0o170000).toBe(0o120000);
      expect(await followSymlinkInScope(root, "/d/s")).toBe("/d/sub");
      expect(await followSymlinkInScope(root, "/d/up")).toBe("/");
      await expect(followSymlinkInScope(root, "/loop1")).rejects.toThrow("evalSymlinksInScope: too many links in /loop1");
      expect((await statPath(root, "/etc/.")).name).toBe(".");
      expect((await statPath(root, "//")).name).toBe("/");
    } finally {
      await root.close();
    }
  });
});

describe("archivePath", () => {
  it("names entries as dockerd does and archives links without following them", async () => {
    await link(join(tree, "etc", "passwd"), join(tree, "etc", "passwd-"));
    const root = await ConfinedRoot.open(tree);
    try {
      expect(await entryNames(root, "/etc", true)).toEqual(["5:etc/", "0:etc/passwd", "1:etc/passwd- -> etc/passwd", `2:etc/x -> ${outside}`]);
      expect(await entryNames(root, "/etc/.", true)).toEqual(["5:./", "0:./passwd", "1:./passwd- -> ./passwd", `2:./x -> ${outside}`]);
      expect(await entryNames(root, "/data", false)).toEqual([`2:data -> /../../../..${outside}`]);
      expect((await entryNames(root, "/", true)).slice(0, 6)).toEqual(["5:/", "5:/d/", "2:/d/s -> sub", "5:/d/sub/", "2:/d/up -> ../../../../../..", `2:/data -> /../../../..${outside}`]);
    } finally {
      await root.close();
    }
  });

  it("keeps a file's size when it changes while it is read", async () => {
    await writeFile(join(tree, "grows"), "12345");
    const root = await ConfinedRoot.open(tree);
    try {
      const chunks: Buffer[] = [];
      const stream = archivePath(root, "/grows", false);
      for await (const chunk of stream) {
        chunks.push(chunk);
        if (chunks.length === 1) await writeFile(join(tree, "grows"), "1234567890");
      }
      let body = "";
      for await (const event of readTar(Readable.from([Buffer.concat(chunks)]), { subject: "test" })) if (event.kind === "data") body += event.piece.toString();
      expect(body).toBe("12345");
    } finally {
      await root.close();
    }
    expect(await readFile(join(outside, "secret"), "utf8")).toBe("host secret\n");
  });

  it("closes a file whose header went out when the archive stops before its bytes", async () => {
    const file = join(tree, "big");
    await writeFile(file, Buffer.alloc(1024 * 1024, "x"));
    const openOnFile = async () => {
      const links = await Promise.all((await readdir("/proc/self/fd")).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")));
      return links.filter((target) => target === file).length;
    };
    const root = await ConfinedRoot.open(tree);
    try {
      const stream = archivePath(root, "/big", false);
      // The first chunk is the file's header: the walk has opened it, its bytes are not read yet.
      expect((await stream.next()).value?.length).toBe(512);
      expect(await openOnFile()).toBe(1);
      await stream.return();
      expect(await openOnFile()).toBe(0);
    } finally {
      await root.close();
    }
  });

  it("pads a file that shrank while it is read with zeros, never with what memory held", async () => {
    await writeFile(join(tree, "shrinks"), Buffer.alloc(300 * 1024, "x"));
    // Memory as an unzeroed allocation may hold it: anything but zeros.
    const allocUnsafe = vi.spyOn(Buffer, "allocUnsafe").mockImplementation((size: number) => Buffer.alloc(size, 0xaa));
    const root = await ConfinedRoot.open(tree);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of archivePath(root, "/shrinks", false)) {
        chunks.push(chunk);
        if (chunks.length === 1) await truncate(join(tree, "shrinks"), 100 * 1024);
      }
      const body: Buffer[] = [];
      for await (const event of readTar(Readable.from([Buffer.concat(chunks)]), { subject: "test" })) if (event.kind === "data") body.push(event.piece);
      expect(Buffer.concat(body).equals(Buffer.concat([Buffer.alloc(100 * 1024, "x"), Buffer.alloc(200 * 1024)]))).toBe(true);
    } finally {
      allocUnsafe.mockRestore();
      await root.close();
    }
  });
});
