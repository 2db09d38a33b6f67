import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ExitStatus } from "../runner/types.ts";
import { execArgs, ExecTrailer, type ExecOptions } from "./exec.ts";

const ID = "760145ab60384cd35bc0c3effde9a8b26844fe3e76a04f4184a5cba6dc279739";
const base: ExecOptions = { container: ID, command: ["sh"], interactive: false, tty: false, privileged: false, env: [] };

describe("execArgs", () => {
  it("puts the flags first, each a word of its own, then the container and the command after `--`", () => {
    expect(
      execArgs({ ...base, interactive: true, tty: true, privileged: true, user: "1000:1000", workdir: "/tmp", env: ["A=1", "B=two words"], command: ["sh", "-c", "echo $A"] }),
    ).toEqual(["exec", "--interactive", "--tty", "--privileged", "--user=1000:1000", "--workdir=/tmp", "--env=A=1", "--env=B=two words", "--", ID, "--", "sh", "-c", "echo $A"]);
  });

  it("keeps a command whose first word is `--` (nerdctl drops one `--` after the container)", () => {
    expect(execArgs({ ...base, command: ["--", "x"] }).slice(-4)).toEqual([ID, "--", "--", "x"]);
  });

  it.each([
    ["user", { user: "--privileged" }, "--user=--privileged"],
    ["user with a newline", { user: "root\n--privileged" }, "--user=root\n--privileged"],
    ["workdir", { workdir: "-v/:/h" }, "--workdir=-v/:/h"],
    ["env", { env: ["--privileged"] }, "--env=--privileged"],
    ["env with a newline", { env: ["A=1\n--privileged"] }, "--env=A=1\n--privileged"],
  ])("keeps a %s that looks like a flag inside its own word", (_label, options, word) => {
    const args = execArgs({ ...base, ...options });
    expect(args).toContain(word);
    expect(args.filter((arg) => arg === "--privileged")).toEqual([]);
  });

  it("passes command words that look like flags after `--`, never before", () => {
    const args = execArgs({ ...base, command: ["--privileged", "-v/:/h", "$(id)"] });
    expect(args.indexOf("--privileged")).toBeGreaterThan(args.lastIndexOf("--"));
    expect(args.slice(-3)).toEqual(["--privileged", "-v/:/h", "$(id)"]);
  });

  it.each(["--privileged", "-v/:/h", "a\nb", "a\0b", "../x", ""])("refuses the container %j with a 400 before any argv", (container) => {
    expect(() => execArgs({ ...base, container })).toThrow(expect.objectContaining({ kind: "invalid-parameter" }));
  });
});

/** Runs output chunks through a trailer over nerdctl's exit status: what the client sees, and the outcome. */
async function trail(chunks: string[], status: ExitStatus, terminal = false) {
  const trailer = new ExecTrailer(Promise.resolve(status), terminal);
  const seen = Buffer.concat(await Readable.from(chunks.map((chunk) => Buffer.from(chunk))).pipe(trailer).toArray()).toString();
  return { seen, outcome: await trailer.outcome };
}

const PLAIN = (message: string) => `time="2026-12-05T02:57:07Z" level=fatal msg="${message}"\n`;
const COLOURED = (message: string) => `\x1b[31mFATA\x1b[0m[0000] ${message.padEnd(44)} \r\n`;

describe("ExecTrailer", () => {
  it("leaves nerdctl's last line out and reads the process's exit code from it", async () => {
    expect(await trail(["out\n", `err${PLAIN("exec failed with exit code 7")}`], { exitCode: 1 })).toEqual({
      seen: "out\nerr",
      outcome: { kind: "exited", exitCode: 7 },
    });
  });

  it("reads the line when it arrives in pieces", async () => {
    const line = PLAIN("exec failed with exit code 3");
    expect(await trail(["a", line.slice(0, 10), line.slice(10, 30), line.slice(30)], { exitCode: 1 })).toEqual({
      seen: "a",
      outcome: { kind: "exited", exitCode: 3 },
    });
  });

  it("reads logrus's coloured line on a terminal", async () => {
    expect(await trail(["$ exit 3\r\n", COLOURED("exec failed with exit code 3")], { exitCode: 1 }, true)).toEqual({
      seen: "$ exit 3\r\n",
      outcome: { kind: "exited", exitCode: 3 },
    });
  });

  it("tells a process that never started, with nerdctl's reason", async () => {
    const reason = 'OCI runtime exec failed: exec failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH';
    expect(await trail([PLAIN(reason)], { exitCode: 1 })).toEqual({
      seen: "",
      outcome: { kind: "not-started", message: reason.replaceAll('\\"', '"') },
    });
  });

  it("passes on a line of the process's own that only looks like nerdctl's", async () => {
    const own = PLAIN("exec failed with exit code 9");
    expect(await trail([own, "more\n"], { exitCode: 0 })).toEqual({ seen: `${own}more\n`, outcome: { kind: "exited", exitCode: 0 } });
    // Last, but nerdctl exited 0: it was the process's.
    expect(await trail([own], { exitCode: 0 })).toEqual({ seen: own, outcome: { kind: "exited", exitCode: 0 } });
  });

  it("holds nothing of output that merely ends like the start of nerdctl's line", async () => {
    const trailer = new ExecTrailer(new Promise(() => {}), false);
    const seen: string[] = [];
    trailer.on("data", (chunk: Buffer) => seen.push(chunk.toString()));
    trailer.write("Please wait");
    trailer.write("\ntime");
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.join("")).toBe("Please wait\ntime");
  });

  it("says so when nerdctl itself was killed, and keeps all output", async () => {
    expect(await trail(["partial"], { exitCode: 137, signal: "SIGKILL" })).toEqual({ seen: "partial", outcome: { kind: "killed", exitCode: 137 } });
  });

  it("reports nerdctl's own exit status when it failed without its line", async () => {
    expect(await trail(["plain failure\n"], { exitCode: 1 })).toEqual({ seen: "plain failure\n", outcome: { kind: "exited", exitCode: 1 } });
  });
});
