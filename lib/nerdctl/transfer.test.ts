import { describe, expect, it } from "vitest";
import { loadedNames } from "./transfer.ts";

describe("what nerdctl prints", () => {
  it("lists each loaded name once", () => {
    expect(loadedNames("Importing\t…\nLoaded image: import@sha256:" + "c".repeat(64) + "\nLoaded image: docker.io/library/busybox:latest\nLoaded image: docker.io/library/busybox:latest\n")).toEqual([
      `import@sha256:${"c".repeat(64)}`,
      "docker.io/library/busybox:latest",
    ]);
  });
});
