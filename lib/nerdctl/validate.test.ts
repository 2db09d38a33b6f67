import { describe, expect, it } from "vitest";
import { assertObjectName } from "./validate.ts";
import { assertImageName, assertTag, isImageReference } from "../reference.ts";

const INJECTIONS = [
  "--help",
  "-v",
  "-v/:/h",
  "--privileged",
  "../x",
  "../../etc/passwd",
  "/abs/path",
  "name\0with-nul",
  "line\nbreak",
  "a b",
  "$(reboot)",
  "`id`",
  "",
  "x".repeat(4096),
];

describe("assertImageName", () => {
  it.each([
    "busybox",
    "busybox:latest",
    "docker.io/library/busybox:1.36",
    "registry.k8s.io/pause:3.8",
    "localhost:5000/team/app:v1.2_3",
    "127.0.0.1:5000/app@sha256:" + "a".repeat(64),
    "[::1]:5000/app:tag",
    "a".repeat(64),
    "sha256:" + "b".repeat(64),
    "3f57d9401f8d",
  ])("accepts %s", (name) => {
    expect(assertImageName(name)).toBe(name);
  });

  it.each(INJECTIONS)("refuses %j with a 400 before anything runs", (name) => {
    expect(() => assertImageName(name)).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
  });

  it("refuses uppercase repository names like Docker does", () => {
    expect(isImageReference("Busybox")).toBe(false);
  });

  it("keeps long hostile values out of the message", () => {
    try {
      assertImageName("-".repeat(5000));
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(200);
    }
  });
});

describe("assertTag", () => {
  it("accepts Docker tags", () => {
    expect(assertTag("v1.2.3-rc_1")).toBe("v1.2.3-rc_1");
  });
  it.each(["-v", ".hidden", "a/b", "x".repeat(129)])("refuses %j", (tag) => {
    expect(() => assertTag(tag)).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
  });
});

describe("assertObjectName", () => {
  it.each(["web", "/web", "my_app.1-2", "3f57d9401f8d"])("accepts %s", (name) => {
    expect(assertObjectName("container", name)).toBe(name);
  });
  it.each(INJECTIONS)("refuses %j", (name) => {
    expect(() => assertObjectName("volume", name)).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
  });
});
