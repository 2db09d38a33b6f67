import { describe, expect, it } from "vitest";
import { registryCredentials } from "./registry-auth.ts";

describe("credentials", () => {
  it("takes username/password, the auth field, and tokens from Docker's AuthConfig", () => {
    expect(registryCredentials({ username: "u", password: "p" })).toEqual({ username: "u", password: "p" });
    expect(registryCredentials({ auth: Buffer.from("u:p:q").toString("base64") })).toEqual({ username: "u", password: "p:q" });
    expect(registryCredentials({ identitytoken: "r", registrytoken: "t" })).toEqual({ identityToken: "r", registryToken: "t" });
    expect(registryCredentials(undefined)).toEqual({});
    expect(registryCredentials({})).toEqual({});
  });
});

