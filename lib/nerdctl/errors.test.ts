import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readFixtures, type Fixture } from "../runner/fixture.ts";
import type { ErrorSubject } from "../errors.ts";
import { errorFromStderr, NerdctlCrash, nerdctlMessage } from "./errors.ts";
import { statusOf } from "../server/error-response.ts";

/** Failures recorded from nerdctl 2.3 (fixtures/failures, `npm run fixtures:record`). */
let failures: Fixture[];
beforeAll(async () => {
  failures = await readFixtures(join(import.meta.dirname, "..", "..", "fixtures", "failures"));
});

function recorded(...args: string[]): Fixture {
  const found = failures.find((fixture) => JSON.stringify(fixture.args) === JSON.stringify(args));
  if (!found) throw new Error(`no recorded failure for nerdctl ${args.join(" ")}`);
  return found;
}

function mapped(fixture: Fixture, subject: ErrorSubject = {}) {
  expect(fixture.exitCode).not.toBe(0);
  const error = errorFromStderr(fixture.stderr, subject);
  return { status: statusOf(error), message: error.message };
}

describe("errorFromStderr over recorded nerdctl failures", () => {
  it("maps a missing image to Docker's 404 wording", () => {
    expect(mapped(recorded("image", "inspect", "--", "nosuch:latest"), { kind: "image", name: "nosuch:latest" })).toEqual({
      status: 404,
      message: "No such image: nosuch:latest",
    });
  });

  it("maps a missing container to Docker's 404 wording", () => {
    expect(mapped(recorded("container", "inspect", "--", "nosuch"), { kind: "container", name: "nosuch" })).toEqual({
      status: 404,
      message: "No such container: nosuch",
    });
  });

  it("finds a missing volume in nerdctl's warning when the fatal line is generic", () => {
    expect(mapped(recorded("volume", "inspect", "--", "nosuch"), { kind: "volume", name: "nosuch" })).toEqual({
      status: 404,
      message: "get nosuch: no such volume",
    });
  });

  it("maps a missing network to 404", () => {
    expect(mapped(recorded("network", "inspect", "--", "nosuch"), { kind: "network", name: "nosuch" })).toEqual({
      status: 404,
      message: "network nosuch not found",
    });
  });

  it("maps removing a running container to 409", () => {
    expect(mapped(recorded("rm", "--", "web"))).toMatchObject({ status: 409, message: expect.stringMatching(/running/) });
  });

  it("maps removing an image a container uses to 409 with nerdctl's conflict message", () => {
    expect(mapped(recorded("rmi", "--", "busybox:latest"))).toMatchObject({
      status: 409,
      message: expect.stringMatching(/^conflict: unable to delete busybox:latest/),
    });
  });

  it("maps a duplicate network name to 409", () => {
    expect(mapped(recorded("network", "create", "--", "bridge"))).toEqual({
      status: 409,
      message: "network with name bridge already exists",
    });
  });

  it("shows why names are validated before nerdctl runs: nerdctl itself accepts an uppercase repository", () => {
    expect(recorded("tag", "--", "busybox:latest", "UPPER/case").exitCode).toBe(0);
  });
});

describe("nerdctlMessage", () => {
  it("unwraps nerdctl's one-error wrapper and logfmt quoting", () => {
    expect(nerdctlMessage('time="x" level=fatal msg="1 errors:\\nno such image: a \\"b\\""\n')).toBe('no such image: a "b"');
  });
  it("falls back to the raw stderr", () => {
    expect(nerdctlMessage("plain failure\n")).toBe("plain failure");
  });
  it("tells a containerd that is down or gone as 503, whatever the call was about", () => {
    // As nerdctl 2.3.5 says it: the socket removed, then left behind by a killed containerd, then a stream cut.
    const down = [
      'time="2026-12-05T12:52:22Z" level=fatal msg="cannot access containerd socket \\"/run/c.sock\\": no such file or directory"',
      'time="2026-12-05T12:52:23Z" level=fatal msg="connection error: desc = \\"transport: Error while dialing: dial unix /run/c.sock: connect: connection refused\\""',
      'time="2026-12-05T12:52:23Z" level=fatal msg="rpc error: code = Unavailable desc = error reading from server: EOF"',
    ];
    for (const stderr of down) expect(statusOf(errorFromStderr(stderr, { kind: "container", name: "web" })), stderr).toBe(503);
    // A registry that refuses a pull is not the engine being down.
    expect(statusOf(errorFromStderr('level=fatal msg="dial tcp 127.0.0.1:5000: connect: connection refused"'))).toBe(500);
  });
  it("maps a network removed by another request meanwhile to Docker's 404", () => {
    // nerdctl 2.3.5's `network rm` when a concurrent removal took the network first.
    const stderr = 'time="2026-12-05T13:55:36Z" level=error msg="no network found matching: rx1"\ntime="2026-12-05T13:55:36Z" level=fatal msg="no network could be removed"\n';
    const error = errorFromStderr(stderr, { kind: "network", name: "rx1" });
    expect([statusOf(error), error.message]).toEqual([404, "network rx1 not found"]);
  });
  it("leaves an unknown failure a 500 with nerdctl's message", () => {
    const error = errorFromStderr('level=fatal msg="disk on fire"');
    expect([statusOf(error), error.message]).toEqual([500, "disk on fire"]);
  });
});

describe("nerdctl's crashes", () => {
  /** nerdctl 2.3.5's `image history` on an image whose history has no dates (fixtures/images-undated). */
  let panic: string;
  beforeAll(async () => {
    const recorded = await readFixtures(join(import.meta.dirname, "..", "..", "fixtures", "images-undated"));
    panic = recorded.find((fixture) => fixture.args[1] === "history")!.stderr;
  });
  it("are a short 500 for the client, whatever the trace's length", () => {
    expect(panic.split("\n").length).toBeGreaterThan(20);
    const error = errorFromStderr(panic, { kind: "image", name: "docker.io/e2e/undated:1" });
    expect(error).toBeInstanceOf(NerdctlCrash);
    expect([statusOf(error), error.message]).toEqual([
      500,
      "nerdctl crashed on image docker.io/e2e/undated:1: runtime error: invalid memory address or nil pointer dereference",
    ]);
    expect(nerdctlMessage(panic)).toBe("nerdctl crashed: runtime error: invalid memory address or nil pointer dereference");
  });

  it("include the Go runtime's fatal errors", () => {
    const fatal = "fatal error: concurrent map writes\n\ngoroutine 7 [running]:\ninternal/runtime/maps.fatal(...)\n\t/usr/lib/go/src/runtime/panic.go:1058 +0x18\n";
    expect(errorFromStderr(fatal).message).toBe("nerdctl crashed: concurrent map writes");
  });

  it("are not failures that only mention a panic", () => {
    const error = errorFromStderr('level=fatal msg="panic: not really"');
    expect(error).not.toBeInstanceOf(NerdctlCrash);
    expect(error.message).toBe("panic: not really");
  });
});
