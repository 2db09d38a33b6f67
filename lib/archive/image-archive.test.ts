import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { containerdName } from "../docker/transfer.ts";
import { readFixtures, stdoutBytes } from "../runner/fixture.ts";
import { FIXTURES_DIR } from "../testing/replay-app.ts";
import { ArchiveNames } from "./image-archive.ts";

async function savedArchive(): Promise<Buffer> {
  const saved = (await readFixtures(join(FIXTURES_DIR, "transfer-save"))).find((fixture) => fixture.exitCode === 0);
  if (!saved) throw new Error("no successful save in transfer-save");
  return stdoutBytes(saved);
}

describe("ArchiveNames", () => {
  it("names the images of a saved archive, whatever the chunking, keeping only its index files", async () => {
    const archive = await savedArchive();
    for (const size of [1, 511, 512, 700, 64 * 1024]) {
      const names = new ArchiveNames();
      for (let offset = 0; offset < archive.length; offset += size) names.feed(archive.subarray(offset, offset + size));
      expect([...new Set(names.names().map(containerdName))]).toEqual(["docker.io/library/tiny:v1"]);
    }
  });

  it("knows nothing from something that is not an archive", () => {
    const names = new ArchiveNames();
    names.feed(Buffer.from("this is not a tar archive\n"));
    expect(names.names()).toEqual([]);
  });
});
