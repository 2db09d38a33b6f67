import { describe, expect, it } from "vitest";
import { checkVersion, splitVersion } from "./api-version.ts";
import { statusOf } from "./error-response.ts";

describe("splitVersion", () => {
  it("takes the /vX.Y prefix off", () => {
    expect(splitVersion("/v1.41/images/json")).toEqual({ version: "1.41", path: "/images/json" });
  });
  it("gives an unversioned path the daemon's version", () => {
    expect(splitVersion("/images/json")).toEqual({ version: "1.43", path: "/images/json" });
  });
  it("leaves paths that only look versioned alone", () => {
    expect(splitVersion("/vfoo/images/json")).toEqual({ version: "1.43", path: "/vfoo/images/json" });
  });
});

describe("checkVersion", () => {
  it("accepts 1.24 through 1.43", () => {
    for (const version of ["1.24", "1.30", "1.41", "1.43"]) expect(checkVersion(version)).toBeUndefined();
  });
  it("refuses a newer client with dockerd's words", () => {
    const error = checkVersion("1.44")!;
    expect(statusOf(error)).toBe(400);
    expect(error.message).toBe("client version 1.44 is too new. Maximum supported API version is 1.43");
  });
  it("refuses an older client with dockerd's words", () => {
    const error = checkVersion("1.23")!;
    expect(statusOf(error)).toBe(400);
    expect(error.message).toBe(
      "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
    );
  });
});
