/**
 * deploy/ssh/docker, the `docker` of a host without the docker CLI: what it
 * runs for each way the docker CLI asks for `docker system dial-stdio`, and
 * what it refuses. A `nerdctld` that prints its arguments stands in for the
 * real one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const SHIM = join(import.meta.dirname, "..", "deploy", "ssh", "docker");
const fakeBin = mkdtempSync(join(tmpdir(), "ssh-docker-"));
writeFileSync(join(fakeBin, "nerdctld"), '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 });
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

const shim = (args: string[], env: Record<string, string> = {}) =>
  execa(SHIM, args, { env: { PATH: `${fakeBin}:/usr/bin:/bin`, ...env }, extendEnv: false, reject: false, stdin: "ignore" });

describe("deploy/ssh/docker", () => {
  it("answers docker system dial-stdio with nerdctld dial-stdio on its default socket", async () => {
    expect(await shim(["system", "dial-stdio"])).toMatchObject({ exitCode: 0, stdout: "dial-stdio", stderr: "" });
  });

  it("passes the socket the docker CLI names (ssh://user@host/path), in each form of --host", async () => {
    for (const args of [
      ["--host=unix:///run/user/1000/nerdctl.sock", "system", "dial-stdio"],
      ["--host", "unix:///run/user/1000/nerdctl.sock", "system", "dial-stdio"],
      ["-H", "unix:///run/user/1000/nerdctl.sock", "system", "dial-stdio"],
    ]) {
      expect(await shim(args)).toMatchObject({ exitCode: 0, stdout: "dial-stdio\n--host=unix:///run/user/1000/nerdctl.sock" });
    }
  });

  it("takes the login's DOCKER_HOST when the command names none, as the docker CLI would", async () => {
    const dialed = await shim(["system", "dial-stdio"], { DOCKER_HOST: "unix:///srv/nerdctl.sock" });
    expect(dialed).toMatchObject({ exitCode: 0, stdout: "dial-stdio\n--host=unix:///srv/nerdctl.sock" });
  });

  it("keeps a socket path that looks like a flag one word, the value of --host", async () => {
    const dialed = await shim(["--host=--debug", "system", "dial-stdio"]);
    expect(dialed).toMatchObject({ exitCode: 0, stdout: "dial-stdio\n--host=--debug" });
  });

  it("refuses every other command with status 125 and says which one it answers", async () => {
    for (const args of [["ps"], ["run", "--rm", "busybox"], ["system", "dial-stdio", "extra"], ["system"], [], ["--host"]]) {
      const refused = await shim(args);
      expect(refused.exitCode).toBe(125);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain("`docker system dial-stdio` (what DOCKER_HOST=ssh://… runs) is the one command answered here");
    }
  });
});
