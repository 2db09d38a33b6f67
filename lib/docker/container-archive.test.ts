import { describe, expect, it } from "vitest";
import { archiveEncoding, encodePathStat, goFileMode, goTimeUTC, passwdOwner, pathErrorMessage } from "./container-archive.ts";

const ns = (iso: string, fraction: bigint) => BigInt(Date.parse(iso)) * 1_000_000n + fraction;

describe("the path-stat header", () => {
  // Headers a dockerd sent for the same entries (HEAD /containers/{id}/archive).
  it.each([
    [
      "a symbolic link whose target needs Go's HTML escapes",
      { name: "l", size: 11, mode: goFileMode(0o120777), mtime: goTimeUTC(ns("2026-12-05T03:15:50Z", 583029914n)), linkTarget: "/tmp/a<b>&c" },
      "eyJuYW1lIjoibCIsInNpemUiOjExLCJtb2RlIjoxMzQyMTgyMzksIm10aW1lIjoiMjAyNi0xMi0wNVQwMzoxNTo1MC41ODMwMjk5MTRaIiwibGlua1RhcmdldCI6Ii90bXAvYVx1MDAzY2JcdTAwM2VcdTAwMjZjIn0=",
    ],
    [
      "a sticky directory",
      { name: "sticky", size: 4096, mode: goFileMode(0o41777), mtime: goTimeUTC(ns("2026-12-05T03:15:50Z", 583029914n)), linkTarget: "" },
      "eyJuYW1lIjoic3RpY2t5Iiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0ODUzMjczNSwibXRpbWUiOiIyMDI2LTEyLTA1VDAzOjE1OjUwLjU4MzAyOTkxNFoiLCJsaW5rVGFyZ2V0IjoiIn0=",
    ],
    [
      "a FIFO with a whole-second time",
      { name: "fifo", size: 0, mode: goFileMode(0o10644), mtime: goTimeUTC(ns("2024-03-04T05:06:07Z", 0n)), linkTarget: "" },
      "eyJuYW1lIjoiZmlmbyIsInNpemUiOjAsIm1vZGUiOjMzNTU0ODUyLCJtdGltZSI6IjIwMjQtMDMtMDRUMDU6MDY6MDdaIiwibGlua1RhcmdldCI6IiJ9",
    ],
    [
      "a plain file",
      { name: "busybox", size: 1982256, mode: goFileMode(0o100755), mtime: goTimeUTC(ns("2024-01-01T00:00:00Z", 0n)), linkTarget: "" },
      "eyJuYW1lIjoiYnVzeWJveCIsInNpemUiOjE5ODIyNTYsIm1vZGUiOjQ5MywibXRpbWUiOiIyMDI0LTAxLTAxVDAwOjAwOjAwWiIsImxpbmtUYXJnZXQiOiIifQ==",
    ],
  ])("encodes %s as dockerd does", (_label, stat, header) => {
    expect(encodePathStat(stat)).toBe(header);
    expect(JSON.parse(Buffer.from(header, "base64").toString())).toEqual(stat);
  });

  it.each([
    [0o100644, 0o644],
    [0o040755, 2 ** 31 + 0o755],
    [0o120777, 2 ** 27 + 0o777],
    [0o020666, 2 ** 26 + 2 ** 21 + 0o666],
    [0o060660, 2 ** 26 + 0o660],
    [0o140755, 2 ** 24 + 0o755],
    [0o104755, 2 ** 23 + 0o755],
    [0o102755, 2 ** 22 + 0o755],
  ])("gives st_mode %o Go's FileMode bits", (stMode, goMode) => {
    expect(goFileMode(stMode)).toBe(goMode);
  });

  it("writes times as Go's RFC 3339 with trimmed nanoseconds", () => {
    expect(goTimeUTC(ns("2024-01-02T03:04:05Z", 120_000_000n))).toBe("2024-01-02T03:04:05.12Z");
    expect(goTimeUTC(ns("2024-01-02T03:04:05Z", 1n))).toBe("2024-01-02T03:04:05.000000001Z");
    expect(goTimeUTC(0n)).toBe("1970-01-01T00:00:00Z");
  });
});

describe("dockerd's words", () => {
  it("words file system errors as Go's os.PathError", () => {
    expect(pathErrorMessage("lstat", "/etc/passwd/", "ENOTDIR")).toBe("lstat /etc/passwd/: not a directory");
    expect(pathErrorMessage("lstat", "/loop/", "ELOOP")).toBe("lstat /loop/: too many levels of symbolic links");
  });

  it("finds docker cp -a's owner in the container's passwd, by name or uid", () => {
    const passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65533:nobody:/home:/bin/false\nbroken line\n";
    expect(passwdOwner(passwd, "nobody")).toEqual({ uid: 65534, gid: 65533 });
    expect(passwdOwner(passwd, "65534")).toEqual({ uid: 65534, gid: 65533 });
    expect(passwdOwner(passwd, "nobody:root")).toEqual({ uid: 65534, gid: 65533 });
    expect(() => passwdOwner(passwd, "ghost")).toThrow('getent unable to find entry "ghost" in passwd database');
    expect(() => passwdOwner(undefined, "root")).toThrow(/unable to find entry/);
  });
});

describe("archiveEncoding", () => {
  it.each([
    [undefined, undefined],
    ["", undefined],
    ["identity", undefined],
    ["gzip", "gzip"],
    ["deflate", "deflate"],
    ["gzip, deflate", "gzip"],
    ["gzip;q=0.5, deflate", "deflate"],
    ["gzip;q=0", undefined],
    ["*", "gzip"],
    ["br, *;q=0.1", "gzip"],
  ])("picks what dockerd picks for Accept-Encoding %j", (header, encoding) => {
    expect(archiveEncoding(header)).toBe(encoding);
  });
});
