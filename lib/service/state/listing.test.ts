import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Listing } from "./listing.ts";

/**
 * A kind whose objects are the entries of a temp directory, listed by reading
 * it, as nerdctl lists volumes. Each listing is announced, and can be held.
 */
function directoryKind(options: { missing?: boolean; where?: (root: string) => string; entries?: (names: string[]) => string[] } = {}) {
  const root = mkdtempSync(join(tmpdir(), "nerdctld-listing-"));
  roots.push(root);
  const directory = options.where?.(root) ?? join(root, "objects");
  // nerdctl makes its directory at its first listing.
  const make = () => mkdirSync(directory, { recursive: true });
  if (!options.missing) make();
  let now = 0;
  let listings = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  let gate: Promise<void> | undefined;
  const logged: string[] = [];
  const listing = new Listing(
    async () => {
      listings += 1;
      for (const waiter of waiting.filter((waiter) => waiter.count <= listings)) waiter.resolve();
      await gate;
      try {
        make();
        return readdirSync(directory).sort();
      } catch {
        return [];
      }
    },
    { subscribeGraceMs: 500, now: () => now, maxAgeMs: 1_000 },
    {
      directories: () => [directory],
      entries: options.entries ?? ((names) => names.map((name) => join(directory, name))),
      log: (reason) => logged.push(reason),
    },
  );
  listing.streamStarted();
  now += 500;
  return {
    root,
    directory,
    listing,
    logged,
    later: (ms: number) => (now += ms),
    get listings() {
      return listings;
    },
    /** Settles once the listing with this number has started. */
    listingStarted: (count: number) => new Promise<void>((resolve) => (count <= listings ? resolve() : waiting.push({ count, resolve }))),
    /** Holds every listing from now until the returned function is called. */
    hold: () => {
      let release = () => {};
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("a listing of a watched directory", () => {
  it("answers from what it listed, however old, while the directory stays as it is", async () => {
    const kind = directoryKind();
    writeFileSync(join(kind.directory, "a"), "");
    expect(await kind.listing.current()).toEqual(["a"]);
    expect(kind.listing.watching).toBe(true);
    kind.later(60_000);
    expect(await kind.listing.current()).toEqual(["a"]);
    expect(kind.listings).toBe(1);
  });

  it("lists again by itself when an entry comes or goes, and a read meanwhile waits for that listing", async () => {
    const kind = directoryKind();
    expect(await kind.listing.current()).toEqual([]);
    const release = kind.hold();
    writeFileSync(join(kind.directory, "made-outside"), "");
    await kind.listingStarted(2);
    const read = kind.listing.current();
    release();
    expect(await read).toEqual(["made-outside"]);

    rmSync(join(kind.directory, "made-outside"));
    await kind.listingStarted(3);
    expect(await kind.listing.current()).toEqual([]);
    expect(kind.listings).toBe(3);
  });

  it("meets a burst of changes with the listing under way and one after it", async () => {
    const kind = directoryKind();
    await kind.listing.current();
    const release = kind.hold();
    writeFileSync(join(kind.directory, "a"), "");
    await kind.listingStarted(2);
    for (const name of ["b", "c", "d", "e"]) writeFileSync(join(kind.directory, name), "");
    const read = kind.listing.current();
    release();
    expect(await read).toEqual(["a", "b", "c", "d", "e"]);
    // The changes made while the listing was held start one more (the kernel may tell them in two batches).
    await kind.listingStarted(3);
    expect(await kind.listing.current()).toEqual(["a", "b", "c", "d", "e"]);
    expect(kind.listings).toBeLessThanOrEqual(4);
  });

  it("shows a change made through nerdctld in the next read, before the directory tells", async () => {
    const kind = directoryKind();
    await kind.listing.current();
    writeFileSync(join(kind.directory, "made-by-nerdctld"), "");
    kind.listing.changed();
    expect(await kind.listing.current()).toEqual(["made-by-nerdctld"]);
  });

  it("watches a directory the first listing makes from then on, and lists once more for what that listing may have missed", async () => {
    const kind = directoryKind({ missing: true });
    expect(await kind.listing.current()).toEqual([]);
    expect(kind.listing.watching).toBe(true);
    expect(await kind.listing.current()).toEqual([]);
    expect(kind.listings).toBe(2);
    writeFileSync(join(kind.directory, "later"), "");
    await kind.listingStarted(3);
    expect(await kind.listing.current()).toEqual(["later"]);
    expect(kind.logged).toEqual([]);
  });
});

/** Not watching: the one listing made so far answers for its max age, a second, and no longer, again and again. */
async function expectAgeing(kind: ReturnType<typeof directoryKind>): Promise<void> {
  expect(kind.listing.watching).toBe(false);
  for (const listings of [2, 3]) {
    kind.later(999);
    await kind.listing.current();
    expect(kind.listings).toBe(listings - 1);
    kind.later(1);
    await kind.listing.current();
    expect(kind.listings).toBe(listings);
  }
}

describe("a listing whose directory cannot be watched", () => {
  it("says why once, and answers for at most its max age", async () => {
    // Under a file: neither nerdctl nor the watch can make anything of it.
    const kind = directoryKind({ missing: true, where: (root) => (writeFileSync(join(root, "file"), ""), join(root, "file", "objects")) });
    expect(await kind.listing.current()).toEqual([]);
    await expectAgeing(kind);
    expect(kind.logged).toHaveLength(1);
    expect(kind.logged[0]).toContain(join(kind.root, "file", "objects"));
  });

  it("gives up when a listing names its objects elsewhere than the watched directory, and then ages", async () => {
    const kind = directoryKind({ entries: (names) => names.map((name) => join(kind.root, "elsewhere", name)) });
    writeFileSync(join(kind.directory, "v"), "");
    expect(await kind.listing.current()).toEqual(["v"]);
    expect(kind.logged).toEqual([expect.stringContaining(join(kind.root, "elsewhere"))]);
    await expectAgeing(kind);
  });

  it("stops watching a directory removed, and watches it again once a listing made it anew", async () => {
    const kind = directoryKind();
    await kind.listing.current();
    rmSync(kind.directory, { recursive: true });
    await kind.listingStarted(2);
    expect(await kind.listing.current()).toEqual([]);
    expect(kind.listing.watching).toBe(true);
    writeFileSync(join(kind.directory, "after"), "");
    await kind.listingStarted(kind.listings + 1);
    expect(await kind.listing.current()).toEqual(["after"]);
    expect(kind.logged).toEqual([]);
  });
});
