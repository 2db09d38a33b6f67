import { describe, expect, it } from "vitest";
import { ApiError } from "../errors.ts";
import type { RunResult } from "../runner/types.ts";
import { Nerdctl } from "./client.ts";
import { createArgs, createContainer, NameInUse, type ContainerCreateOptions } from "./container-create.ts";

const base = (extra: Partial<ContainerCreateOptions> = {}): ContainerCreateOptions => ({
  image: "docker.io/library/busybox:latest",
  command: [],
  single: {},
  lists: {},
  repeated: {},
  switches: [],
  ...extra,
});

function refusal(options: ContainerCreateOptions): string {
  try {
    createArgs(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe("invalid-parameter");
    return (error as ApiError).message;
  }
  throw new Error("accepted");
}

describe("createArgs", () => {
  it("never pulls, and puts the image and command after --", () => {
    expect(createArgs(base({ command: ["sh", "-c", "echo hi"] }))).toEqual(["create", "--pull=never", "--", "docker.io/library/busybox:latest", "sh", "-c", "echo hi"]);
  });

  it("gives every value its own --flag=value word, in every kind of flag", () => {
    const args = createArgs(
      base({
        entrypoint: ["/bin/sh", "-c"],
        single: { name: "web", memory: "67108864" },
        lists: { "cap-drop": ["CAP_NET_RAW", "CAP_CHOWN"] },
        repeated: { env: ["A=1", "B=two words"] },
        switches: ["tty", "read-only"],
      }),
    );
    expect(args).toEqual([
      "create",
      "--pull=never",
      "--tty",
      "--read-only",
      "--name=web",
      "--memory=67108864",
      "--cap-drop=CAP_NET_RAW",
      "--cap-drop=CAP_CHOWN",
      "--env=A=1",
      "--env=B=two words",
      "--entrypoint=/bin/sh",
      "--entrypoint=-c",
      "--",
      "docker.io/library/busybox:latest",
    ]);
  });

  it("keeps values that look like flags inside their word", () => {
    const args = createArgs(base({ single: { user: "--privileged" }, repeated: { env: ["-v/:/h"], volume: ["--privileged"] }, command: ["--privileged", "-v/:/h"] }));
    expect(args).toContain("--user=--privileged");
    expect(args).toContain("--env=-v/:/h");
    expect(args).toContain("--volume=--privileged");
    expect(args.slice(0, args.indexOf("--"))).not.toContain("--privileged");
    expect(args.slice(args.indexOf("--"))).toEqual(["--", "docker.io/library/busybox:latest", "--privileged", "-v/:/h"]);
  });

  it("keeps a command that starts with -- (nerdctl would drop the first one)", () => {
    expect(createArgs(base({ command: ["--", "x"] })).slice(-4)).toEqual(["docker.io/library/busybox:latest", "--", "--", "x"]);
  });

  it("refuses NUL anywhere, control characters in one-line values, and items a list would split", () => {
    expect(refusal(base({ command: ["a\0b"] }))).toMatch(/NUL/);
    expect(refusal(base({ repeated: { env: ["A=\0"] } }))).toMatch(/NUL/);
    expect(refusal(base({ entrypoint: ["\0"] }))).toMatch(/NUL/);
    expect(refusal(base({ single: { hostname: "a\nb" } }))).toMatch(/control character/);
    expect(refusal(base({ lists: { dns: ["1.1.1.1,8.8.8.8"] } }))).toMatch(/comma/);
    expect(refusal(base({ lists: { "cap-add": ['"ALL"'] } }))).toMatch(/quote/);
    expect(refusal(base({ lists: { "add-host": [""] } }))).toMatch(/empty/);
    // A newline stays inside an environment value, as Docker allows.
    expect(createArgs(base({ repeated: { env: ["A=1\n2"] } }))).toContain("--env=A=1\n2");
  });

  it("refuses an image or a name that is not one", () => {
    expect(refusal(base({ image: "--privileged" }))).toMatch(/invalid reference format/);
    expect(refusal(base({ image: "-v/:/h" }))).toMatch(/invalid reference format/);
    expect(refusal(base({ single: { name: "--privileged" } }))).toMatch(/invalid container name/);
  });
});

/** A runner that answers every call with one result, and keeps the argv. */
function answering(result: RunResult) {
  const calls: string[][] = [];
  const runner = {
    run: (command: { args: readonly string[] }) => {
      calls.push([...command.args]);
      return Promise.resolve(result);
    },
  };
  return { nerdctl: new Nerdctl(runner as never, { namespace: "ns1" }), calls };
}

describe("createContainer", () => {
  it("returns the id nerdctl prints, in the scope's namespace", async () => {
    const id = "a".repeat(64);
    const { nerdctl, calls } = answering({ stdout: `${id}\n`, stderr: "", exitCode: 0 });
    expect(await createContainer(nerdctl, base())).toBe(id);
    expect(calls[0]!.slice(0, 3)).toEqual(["--namespace", "ns1", "create"]);
  });

  it("tells a taken name apart, with the container holding it", async () => {
    const holder = "b".repeat(64);
    const stderr = `time="2026-01-01T00:00:00Z" level=fatal msg="name-store error\\nname \\"web\\" is already used by ID \\"${holder}\\""\n`;
    const { nerdctl } = answering({ stdout: "", stderr, exitCode: 1 });
    const error = await createContainer(nerdctl, base({ single: { name: "web" } })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NameInUse);
    expect(error).toMatchObject({ containerName: "web", holder, kind: "conflict" });
  });

  it("maps a missing image to a 404", async () => {
    const { nerdctl } = answering({ stdout: "", stderr: 'time="x" level=fatal msg="image not available: \\"nosuch:1\\""\n', exitCode: 1 });
    await expect(createContainer(nerdctl, base({ image: "nosuch:1" }))).rejects.toMatchObject({ kind: "not-found" });
  });
});
