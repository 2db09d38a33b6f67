import { describe, expect, it } from "vitest";
import { decodeRegistryAuth, dockerConfigFor, registryCredentials } from "./registry-auth.ts";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("credentials", () => {
  it("takes username/password, the auth field, and tokens from Docker's AuthConfig", () => {
    expect(registryCredentials({ username: "u", password: "p" })).toEqual({ username: "u", password: "p" });
    expect(registryCredentials({ auth: Buffer.from("u:p:q").toString("base64") })).toEqual({ username: "u", password: "p:q" });
    expect(registryCredentials({ identitytoken: "r", registrytoken: "t" })).toEqual({ identityToken: "r", registryToken: "t" });
    expect(registryCredentials(undefined)).toEqual({});
    expect(registryCredentials({})).toEqual({});
  });
});

describe("registry auth", () => {
  it("decodes X-Registry-Auth (base64url or base64 JSON) and ignores what it cannot read", () => {
    expect(decodeRegistryAuth(b64({ username: "u", password: "p?>", serveraddress: "r:5000" }))).toEqual({
      username: "u",
      password: "p?>",
      serveraddress: "r:5000",
    });
    expect(decodeRegistryAuth(Buffer.from('{"username":"u"}').toString("base64"))).toEqual({ username: "u" });
    expect(decodeRegistryAuth("e30=")).toEqual({});
    expect(decodeRegistryAuth("not base64 json")).toBeUndefined();
    expect(decodeRegistryAuth("")).toBeUndefined();
  });

  it("writes a docker config for the reference's registry, Docker Hub under its legacy key", () => {
    const config = JSON.parse(dockerConfigFor({ username: "alice", password: "s3cret" }, "127.0.0.1:5001")!) as {
      auths: Record<string, { auth: string }>;
    };
    expect(Object.keys(config.auths)).toEqual(["127.0.0.1:5001"]);
    expect(Buffer.from(config.auths["127.0.0.1:5001"]!.auth, "base64").toString()).toBe("alice:s3cret");
    expect(Object.keys(JSON.parse(dockerConfigFor({ username: "a", password: "b" }, "docker.io")!).auths)).toEqual([
      "https://index.docker.io/v1/",
    ]);
    expect(JSON.parse(dockerConfigFor({ identitytoken: "tok" }, "r")!).auths.r).toEqual({ identitytoken: "tok" });
    expect(dockerConfigFor({}, "r")).toBeUndefined();
    expect(dockerConfigFor(undefined, "r")).toBeUndefined();
  });
});
