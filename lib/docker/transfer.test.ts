import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFixtures, type Fixture } from "../runner/fixture.ts";
import { FIXTURES_DIR } from "../testing/replay-app.ts";
import type { JSONMessage } from "./progress.ts";
import { nerdctlMessage } from "../nerdctl/errors.ts";
import { pushedDigest } from "../nerdctl/transfer.ts";
import { assertCommitChanges, pullError, pushErrorMessage, saveError } from "./transfer.ts";
import { parseProgressBytes, PullProgress, PushProgress } from "./transfer-progress.ts";
import { statusOf } from "../server/error-response.ts";
import { familiarize, familiarString, pullReference, referenceString, splitReference } from "../reference.ts";

async function fixture(scenario: string, match: (fixture: Fixture) => boolean): Promise<Fixture> {
  const found = (await readFixtures(join(FIXTURES_DIR, scenario))).find(match);
  if (!found) throw new Error(`no such fixture in ${scenario}`);
  return found;
}

describe("references", () => {
  it("normalizes as Docker does and prints familiar names", () => {
    expect(splitReference("busybox")).toEqual({ domain: "docker.io", path: "library/busybox" });
    expect(splitReference("someone/tool:1.0")).toEqual({ domain: "docker.io", path: "someone/tool", tag: "1.0" });
    expect(splitReference("127.0.0.1:5000/a/b:v1")).toEqual({ domain: "127.0.0.1:5000", path: "a/b", tag: "v1" });
    expect(splitReference("localhost/x@sha256:" + "a".repeat(64))).toEqual({ domain: "localhost", path: "x", digest: `sha256:${"a".repeat(64)}` });
    expect(splitReference("index.docker.io/library/busybox:1")).toEqual({ domain: "docker.io", path: "library/busybox", tag: "1" });
    expect(familiarString(splitReference("docker.io/library/busybox:latest"))).toBe("busybox:latest");
    expect(familiarString(splitReference("docker.io/someone/tool:1"))).toBe("someone/tool:1");
    expect(familiarize("127.0.0.1:5000/busybox:v1")).toBe("127.0.0.1:5000/busybox:v1");
    expect(referenceString(splitReference("busybox:1"))).toBe("docker.io/library/busybox:1");
  });

  it("takes the pull tag from the tag parameter, which may be a digest; latest when there is none", () => {
    const digest = `sha256:${"b".repeat(64)}`;
    expect(pullReference(splitReference("busybox"), undefined)).toEqual({ domain: "docker.io", path: "library/busybox", tag: "latest" });
    expect(pullReference(splitReference("busybox:1"), undefined).tag).toBe("1");
    expect(pullReference(splitReference("busybox:1"), "2").tag).toBe("2");
    expect(pullReference(splitReference("busybox"), digest)).toEqual({ domain: "docker.io", path: "library/busybox", digest });
  });
});

describe("nerdctl progress", () => {
  it("reads containerd's byte counts back", () => {
    expect(parseProgressBytes("16.9 MiB")).toBe(Math.round(16.9 * 1024 * 1024));
    expect(parseProgressBytes("0.0 B")).toBe(0);
    expect(parseProgressBytes("1023.9 K")).toBe(Math.round(1023.9 * 1024));
    expect(parseProgressBytes("nope")).toBeUndefined();
  });

  it("turns a recorded pull into dockerd's messages, one per layer state change", async () => {
    const pull = await fixture("transfer-pull", (f) => f.args[0] === "pull" && f.args.at(-1) === "127.0.0.1:5000/remote:v2" && f.exitCode === 0);
    const progress = new PullProgress(splitReference("127.0.0.1:5000/remote:v2"));
    const messages: JSONMessage[] = [...progress.start()];
    for (const line of pull.stdout.split("\n")) messages.push(...progress.line(line));
    messages.push(...progress.finish(undefined));
    const digest = /application\/\S+ (sha256:[0-9a-f]{64})/.exec(pull.stdout)![1];
    expect(messages[0]).toEqual({ status: "Pulling from remote", id: "v2" });
    const layerIds = [...new Set(messages.filter((m) => m.id && m.id !== "v2").map((m) => m.id))];
    expect(layerIds.length).toBeGreaterThan(0);
    for (const id of layerIds) {
      expect(id).toMatch(/^[0-9a-f]{12}$/);
      const states = messages.filter((m) => m.id === id).map((m) => m.status);
      expect(states[0]).toBe("Pulling fs layer");
      expect(states.at(-1)).toBe("Pull complete");
    }
    expect(messages.slice(-2)).toEqual([
      { status: `Digest: ${digest}` },
      { status: "Status: Downloaded newer image for 127.0.0.1:5000/remote:v2" },
    ]);
    // A name that already pointed at this digest is up to date.
    expect(progress.finish(digest).at(-1)).toEqual({ status: "Status: Image is up to date for 127.0.0.1:5000/remote:v2" });
  });

  it("maps downloading and extracting rows to Docker's progress", () => {
    const progress = new PullProgress(splitReference("r:5000/x:v1"));
    const row = (event: string, numbers = "") => `   └──layer-sha256:46899dc714b9edd5bf9fc\t${event.padEnd(11)}\t|\x1b[32m+++\x1b[0m---|\t${numbers}\t`;
    expect(progress.line(row("waiting"))).toEqual([{ status: "Pulling fs layer", progressDetail: {}, id: "46899dc714b9" }]);
    const downloading = progress.line(row("downloading", "1.0 MiB/4.0 MiB"));
    expect(downloading[0]).toMatchObject({ status: "Downloading", id: "46899dc714b9", progressDetail: { current: 1048576, total: 4194304 } });
    expect(progress.line(row("downloading", "1.0 MiB/4.0 MiB"))).toEqual([]);
    expect(progress.line(row("complete"))[0]).toMatchObject({ status: "Download complete" });
    expect(progress.line(row("extracting", "2.0 MiB/4.0 MiB"))[0]).toMatchObject({ status: "Extracting", progressDetail: { current: 2097152 } });
    expect(progress.line(row("extracted"))[0]).toMatchObject({ status: "Pull complete" });
    expect(progress.line(row("extracted"))).toEqual([]);
    expect(progress.line("   └──layer-sha256:c888543c2700f90f0d48a62ab\talready exists\t")).toEqual([
      { status: "Already exists", progressDetail: {}, id: "c888543c2700" },
    ]);
  });

  it("turns a recorded push into Preparing, Pushed and the digest line", async () => {
    const push = await fixture("transfer-push", (f) => f.args[0] === "push" && f.args.at(-1) === "127.0.0.1:5000/busybox:v1");
    const progress = new PushProgress(splitReference("127.0.0.1:5000/busybox:v1"));
    const messages = [...progress.start()];
    for (const line of push.stdout.split("\n")) messages.push(...progress.line(line));
    const digest = pushedDigest(push.stderr)!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    messages.push(...progress.finish({ tag: "v1", digest, size: 400 }));
    expect(messages).toEqual([
      { status: "The push refers to repository [127.0.0.1:5000/busybox]" },
      { status: "Preparing", progressDetail: {}, id: "a17128f00d56" },
      { status: "Pushed", progressDetail: {}, id: "a17128f00d56" },
      { status: `v1: digest: ${digest} size: 400` },
      { progressDetail: {}, aux: { Tag: "v1", Digest: digest, Size: 400 } },
    ]);
  });

  it("shows uploading rows as Pushing with numbers", () => {
    const progress = new PushProgress(splitReference("r/x:1"));
    const line = `layer-sha256:${"d".repeat(64)}:   uploading      |\x1b[32m++\x1b[0m----|    1.0 MiB/2.0 MiB `;
    expect(progress.line(line)).toEqual([
      { status: "Preparing", progressDetail: {}, id: "dddddddddddd" },
      expect.objectContaining({ status: "Pushing", progressDetail: { current: 1048576, total: 2097152 } }),
    ]);
  });
});

describe("failures", () => {
  it("reports pull failures with dockerd's status and words", async () => {
    const nosuch = await fixture("transfer-pull", (f) => f.args.at(-1) === "127.0.0.1:5000/nosuch:v1" && f.args[0] === "pull");
    const missing = pullError(nerdctlMessage(nosuch.stderr), splitReference("127.0.0.1:5000/nosuch:v1"));
    expect([statusOf(missing), missing.message]).toEqual([404, "manifest for 127.0.0.1:5000/nosuch:v1 not found: manifest unknown: manifest unknown"]);
    const anonymous = await fixture("transfer-pull", (f) => f.args.at(-1) === "127.0.0.1:5001/busybox:v1" && f.args[0] === "pull");
    const noCredentials = pullError(nerdctlMessage(anonymous.stderr), splitReference("127.0.0.1:5001/busybox:v1"));
    expect([statusOf(noCredentials), noCredentials.message]).toEqual([
      500,
      'Head "http://127.0.0.1:5001/v2/busybox/manifests/v1": no basic auth credentials',
    ]);
    const wrong = await fixture("transfer-pull", (f) => f.args.at(-1) === "127.0.0.1:5001/private:v1" && f.args[0] === "pull");
    expect(pullError(nerdctlMessage(wrong.stderr), splitReference("127.0.0.1:5001/private:v1")).message).toBe("unauthorized: authentication required");
  });

  it("reports push failures in the stream as dockerd does", async () => {
    const nosuch = await fixture("transfer-push", (f) => f.args.at(-1) === "127.0.0.1:5000/nosuch:v1");
    expect(pushErrorMessage(nerdctlMessage(nosuch.stderr), splitReference("127.0.0.1:5000/nosuch:v1"))).toEqual({
      errorDetail: { message: "An image does not exist locally with the tag: 127.0.0.1:5000/nosuch" },
      error: "An image does not exist locally with the tag: 127.0.0.1:5000/nosuch",
    });
    const anonymous = await fixture("transfer-push", (f) => f.args.at(-1) === "127.0.0.1:5001/private:v1" && f.exitCode !== 0);
    expect(pushErrorMessage(nerdctlMessage(anonymous.stderr), splitReference("127.0.0.1:5001/private:v1")).error).toBe("no basic auth credentials");
    expect(pushErrorMessage(nerdctlMessage('level=fatal msg="unexpected status from HEAD request to http://r/v2/x/blobs/sha256:a: 401 Unauthorized"'), splitReference("r/x")).error).toBe(
      "unauthorized: authentication required",
    );
  });

  it("names the missing image of a save as the client sent it", async () => {
    const failed = await fixture("transfer-save", (f) => f.exitCode !== 0);
    const error = saveError(nerdctlMessage(failed.stderr), ["busybox", "nosuch"]);
    expect([statusOf(error), error.message]).toEqual([404, "No such image: nosuch"]);
  });

  it("accepts the commit changes nerdctl can apply and refuses the rest before it runs", () => {
    expect(assertCommitChanges(['CMD ["sh"]', "entrypoint /bin/sh"])).toHaveLength(2);
    expect(() => assertCommitChanges(["ENV A=b"])).toThrow(/env is not a supported change command/);
    expect(() => assertCommitChanges(["CMD a\nRUN b"])).toThrow(/one Dockerfile instruction/);
  });
});
