import { describe, expect, it } from "vitest";
import type { NerdctlContainerInspect } from "../nerdctl/container-types.ts";
import { schemaViolations } from "../testing/api-schema.ts";
import { DetachScanner, parseDetachKeys } from "./exec-detach.ts";
import {
  assertCanExec,
  execConfig,
  execEnv,
  execInspectDocument,
  parseExecCreate,
  parseExecStart,
  parseResize,
  startFailure,
  type ExecCreateRequest,
} from "./exec.ts";

const ID = "760145ab60384cd35bc0c3effde9a8b26844fe3e76a04f4184a5cba6dc279739";

function container(state: Partial<NerdctlContainerInspect["State"]>, config: Partial<NerdctlContainerInspect["Config"]> = {}): NerdctlContainerInspect {
  return {
    Id: ID,
    State: { Status: "running", Running: true, Paused: false, Restarting: false, Pid: 1, ExitCode: 0, Error: "", StartedAt: "", FinishedAt: "", ...state },
    Config: { Hostname: "h", AttachStdin: false, Env: ["PATH=/bin", "HOSTNAME=h"], Image: "busybox", Labels: null, ...config },
  } as NerdctlContainerInspect;
}

const failure = (action: () => unknown) => {
  try {
    action();
  } catch (error) {
    return { kind: (error as { kind?: string }).kind, message: (error as Error).message };
  }
  throw new Error("expected a failure");
};

describe("parseExecCreate", () => {
  it("reads the docker CLI's body", () => {
    const body = { User: "", Privileged: false, Tty: true, ConsoleSize: [30, 100], AttachStdin: true, AttachStderr: true, AttachStdout: true, DetachKeys: "", Env: ["A=1"], WorkingDir: "", Cmd: ["sh"] };
    expect(parseExecCreate(body, true)).toEqual({
      attachStdin: true,
      attachStdout: true,
      attachStderr: true,
      detachKeys: "",
      tty: true,
      consoleSize: { height: 30, width: 100 },
      env: ["A=1"],
      privileged: false,
      user: "",
      workingDir: "",
      cmd: ["sh"],
    });
  });

  it("matches keys regardless of case and takes null for nothing, as Go's decoder does", () => {
    expect(parseExecCreate({ cmd: ["ls"], tty: null, env: null, consolesize: [1, 2, 3] }, true)).toMatchObject({ cmd: ["ls"], tty: false, env: [], consoleSize: { height: 1, width: 2 } });
  });

  it("ignores ConsoleSize before API 1.42", () => {
    expect(parseExecCreate({ Cmd: ["ls"], ConsoleSize: [1, 2] }, false).consoleSize).toBeUndefined();
  });

  it.each([
    [{}, "No exec command specified"],
    [{ Cmd: [] }, "No exec command specified"],
    [{ Cmd: "ls" }, "invalid JSON: json: cannot unmarshal string into Go struct field ExecConfig.Cmd of type []string"],
    [{ Cmd: ["ls", 1] }, "invalid JSON: json: cannot unmarshal number into Go struct field ExecConfig.Cmd of type string"],
    [{ Cmd: ["ls"], Tty: "yes" }, "invalid JSON: json: cannot unmarshal string into Go struct field ExecConfig.Tty of type bool"],
    [{ Cmd: ["ls"], ConsoleSize: [-1, 2] }, "invalid JSON: json: cannot unmarshal number -1 into Go struct field ExecConfig.ConsoleSize of type uint"],
    [{ Cmd: ["ls"], User: 0 }, "invalid JSON: json: cannot unmarshal number into Go struct field ExecConfig.User of type string"],
    [[], "invalid JSON: json: cannot unmarshal array into Go value of type types.ExecConfig"],
  ])("refuses %j with dockerd's 400", (body, message) => {
    expect(failure(() => parseExecCreate(body, true))).toEqual({ kind: "invalid-parameter", message });
  });

  it.each(["Cmd", "Env", "User", "WorkingDir"])("refuses a NUL in %s, which no argv can carry", (name) => {
    const body: Record<string, unknown> = { Cmd: ["ls"], [name]: name === "Cmd" || name === "Env" ? ["a\0b"] : "a\0b" };
    expect(failure(() => parseExecCreate(body, true)).kind).toBe("invalid-parameter");
  });
});

describe("parseExecStart and parseResize", () => {
  it("keeps a console size only for a terminal, from API 1.42", () => {
    expect(parseExecStart({ Detach: false, Tty: true, ConsoleSize: [24, 80] }, true)).toEqual({ detach: false, tty: true, consoleSize: { height: 24, width: 80 } });
    expect(parseExecStart({ Tty: false, ConsoleSize: [24, 80] }, true)).toEqual({ detach: false, tty: false });
    expect(parseExecStart({ Tty: true, ConsoleSize: [24, 80] }, false)).toEqual({ detach: false, tty: true });
    expect(parseExecStart(undefined, true)).toEqual({ detach: false, tty: false });
  });

  it("reads h and w as Go's Atoi does", () => {
    expect(parseResize("40", "+120")).toEqual({ height: 40, width: 120 });
    expect(parseResize("-1", "70000")).toEqual({ height: -1, width: 70000 });
    expect(failure(() => parseResize(undefined, "1"))).toEqual({ kind: "invalid-parameter", message: 'strconv.Atoi: parsing "": invalid syntax' });
    expect(failure(() => parseResize("4", "1.5"))).toEqual({ kind: "invalid-parameter", message: 'strconv.Atoi: parsing "1.5": invalid syntax' });
    expect(failure(() => parseResize("9223372036854775808", "1"))).toEqual({
      kind: "invalid-parameter",
      message: 'strconv.Atoi: parsing "9223372036854775808": value out of range',
    });
  });
});

describe("assertCanExec", () => {
  it("lets a running container through", () => {
    expect(() => assertCanExec(container({}), "web")).not.toThrow();
  });

  it.each([
    [{ Running: false, Status: "exited" }, `Container ${ID} is not running`],
    [{ Running: false, Paused: true, Status: "paused" }, "Container web is paused, unpause the container before exec"],
    [{ Running: false, Restarting: true, Status: "restarting" }, `Container ${ID} is restarting, wait until the container is running`],
  ])("refuses %j with dockerd's 409", (state, message) => {
    expect(failure(() => assertCanExec(container(state), "web"))).toEqual({ kind: "conflict", message });
  });

  it("lets through a running container whose restart policy nerdctl marks with Restarting", () => {
    expect(() => assertCanExec(container({ Restarting: true }), "web")).not.toThrow();
  });
});

describe("execEnv", () => {
  it("gives a terminal TERM=xterm, which the client's own TERM replaces", () => {
    expect(execEnv(["A=1"], true, [])).toEqual(["TERM=xterm", "A=1"]);
    expect(execEnv(["TERM=vt100"], true, [])).toEqual(["TERM=xterm", "TERM=vt100"]);
    expect(execEnv(["A=1"], false, [])).toEqual(["A=1"]);
  });

  it("drops a bare name that unsets nothing, and never hands one to nerdctl (which would fill it in from its own environment)", () => {
    expect(execEnv(["NOTSET", "A=1", "A", "TERM"], true, ["PATH=/bin"])).toEqual([]);
  });

  it("refuses to unset what the container sets, which nerdctl cannot", () => {
    expect(failure(() => execEnv(["PATH"], false, ["PATH=/bin"]))).toEqual({
      kind: "invalid-parameter",
      message: "cannot unset PATH: nerdctl has no way to remove a variable the container sets",
    });
    expect(failure(() => execEnv(["=x"], false, [])).kind).toBe("invalid-parameter");
  });
});

describe("the exec document", () => {
  const request: ExecCreateRequest = {
    attachStdin: false,
    attachStdout: true,
    attachStderr: true,
    detachKeys: "ctrl-p,ctrl-q",
    tty: false,
    env: [],
    privileged: false,
    user: "",
    workingDir: "",
    cmd: ["sh", "-c", "exit 2"],
  };

  it("fills in the container's user, and shows dockerd's shape", () => {
    const config = execConfig(request, container({}, { User: "1000" }));
    const document = execInspectDocument({ id: "f".repeat(64), containerId: ID, config, running: false, exitCode: 2, canRemove: false, pid: 0 });
    expect(document).toEqual({
      ID: "f".repeat(64),
      Running: false,
      ExitCode: 2,
      ProcessConfig: { tty: false, entrypoint: "sh", arguments: ["-c", "exit 2"], privileged: false, user: "1000" },
      OpenStdin: false,
      OpenStderr: true,
      OpenStdout: true,
      CanRemove: false,
      ContainerID: ID,
      DetachKeys: "EBE=",
      Pid: 0,
    });
    expect(Object.keys(document)).toEqual(["ID", "Running", "ExitCode", "ProcessConfig", "OpenStdin", "OpenStderr", "OpenStdout", "CanRemove", "ContainerID", "DetachKeys", "Pid"]);
    expect(schemaViolations("GET", "/exec/{id}/json", 200, document)).toEqual([]);
  });

  it("leaves the user out when neither the exec nor the container names one, and the detach keys empty by default", () => {
    const config = execConfig({ ...request, detachKeys: "", cmd: ["ls"] }, container({}));
    const document = execInspectDocument({ id: "a", containerId: ID, config, running: true, exitCode: null, canRemove: false, pid: 0 });
    expect(document.ProcessConfig).toEqual({ tty: false, entrypoint: "ls", arguments: [], privileged: false });
    expect(document.DetachKeys).toBe("");
  });

  it("refuses detach keys dockerd does not know, in its words, as a bad parameter", () => {
    expect(failure(() => execConfig({ ...request, detachKeys: "ctrl-1" }, container({})))).toEqual({ kind: "invalid-parameter", message: "Invalid escape keys (ctrl-1) provided" });
  });
});

describe("startFailure", () => {
  const oci = (reason: string) => `OCI runtime exec failed: exec failed: unable to start container process: ${reason}`;
  it.each([
    [oci('exec: "nosuch": executable file not found in $PATH'), "", `${oci('exec: "nosuch": executable file not found in $PATH')}: unknown`, "invalid-parameter"],
    [oci('chdir to cwd ("/x") set in config.json failed: no such file or directory'), "", `${oci('chdir to cwd ("/x") set in config.json failed: no such file or directory')}: unknown`, "invalid-parameter"],
    [oci("exec: /etc: is a directory"), "", `${oci("exec: /etc: is a directory")}: unknown: permission denied`, "invalid-parameter"],
    ["no users found", "nosuch:staff", "unable to find user nosuch: no matching entries in passwd file", "system"],
    ["no groups found", "nobody:nosuch", "unable to find group nosuch: no matching entries in group file", "system"],
  ])("words and classes %j as dockerd does", (reason, user, shown, kind) => {
    expect(failure(() => {
      throw startFailure(reason, user);
    })).toEqual({ kind, message: shown });
  });
});

describe("detach keys", () => {
  it("reads Docker's key names", () => {
    expect([...parseDetachKeys("ctrl-p,ctrl-q")]).toEqual([16, 17]);
    expect([...parseDetachKeys("a,ctrl-@,ctrl-_,DEL")]).toEqual([97, 0, 31, 127]);
    expect([...parseDetachKeys("")]).toEqual([]);
    expect(() => parseDetachKeys("ctrl-p,,")).toThrow("Invalid escape keys (ctrl-p,,) provided");
  });

  it("passes typing on, holds a partial sequence until it is known, and stops at the whole one", () => {
    const scanner = new DetachScanner(Uint8Array.of(16, 17));
    const push = (text: string) => {
      const { pass, detached } = scanner.push(Buffer.from(text, "latin1"));
      return { pass: pass.toString("latin1"), detached };
    };
    expect(push("ls\n")).toEqual({ pass: "ls\n", detached: false });
    expect(push("a\x10")).toEqual({ pass: "a", detached: false });
    expect(push("b")).toEqual({ pass: "\x10b", detached: false });
    expect(push("\x10\x10")).toEqual({ pass: "\x10", detached: false });
    expect(push("\x11after")).toEqual({ pass: "", detached: true });
    expect(push("x\x10\x11y")).toEqual({ pass: "x", detached: true });
  });
});
