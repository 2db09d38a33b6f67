import { describe, expect, it } from "vitest";
import { ApiError } from "../errors.ts";
import { updateArgs } from "../nerdctl/container-lifecycle.ts";
import { parseNewName, parseSignal, parseStopOptions, parseUpdate, parseWaitCondition, restartPolicy, startRefused } from "./container-lifecycle.ts";

const kindOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as ApiError).kind;
  }
  return "none";
};

describe("lifecycle parameters", () => {
  it("reads signals as dockerd does, in the form nerdctl takes", () => {
    expect(parseSignal("KILL")).toBe("SIGKILL");
    expect(parseSignal("sigusr1")).toBe("SIGUSR1");
    expect(parseSignal("9")).toBe("9");
    expect(parseSignal("SIGRTMIN+3")).toBe("SIGRTMIN+3");
    for (const bad of ["NOPE", "0", "65", "--privileged", "KILL\n", "-9"]) expect(kindOf(() => parseSignal(bad))).toBe("invalid-parameter");
  });

  it("reads stop's t and signal; -1 waits a day", () => {
    expect(parseStopOptions({ t: undefined, signal: undefined })).toEqual({ timeout: undefined, signal: undefined });
    expect(parseStopOptions({ t: 3, signal: "INT" })).toEqual({ timeout: 3, signal: "SIGINT" });
    expect(parseStopOptions({ t: -1, signal: undefined }).timeout).toBe(86_400);
  });

  it("knows the three wait conditions", () => {
    expect(parseWaitCondition(undefined)).toBe("not-running");
    expect(parseWaitCondition("next-exit")).toBe("next-exit");
    expect(parseWaitCondition("removed")).toBe("removed");
    expect(() => parseWaitCondition("sometime")).toThrow('invalid condition: "sometime"');
  });

  it("checks a new name by Docker's rule", () => {
    expect(parseNewName("/web-2")).toBe("web-2");
    expect(() => parseNewName("")).toThrow("Neither old nor new names may be empty");
    for (const bad of ["-x", "a b", "--privileged", "x\n", "a/b"]) expect(kindOf(() => parseNewName(bad))).toBe("invalid-parameter");
  });

  it("turns a restart policy into nerdctl's form", () => {
    expect(restartPolicy({ Name: "on-failure", MaximumRetryCount: 3 })).toBe("on-failure:3");
    expect(restartPolicy({ Name: "" })).toBe("no");
    expect(restartPolicy(undefined)).toBeUndefined();
    expect(() => restartPolicy({ Name: "sometimes" })).toThrow("unknown policy 'sometimes'");
  });

  it("takes the update fields nerdctl can change and refuses the others by name", () => {
    const options = parseUpdate({ Memory: 64 << 20, NanoCpus: 1.5e9, PidsLimit: 50, CpusetCpus: "0-1", RestartPolicy: { Name: "always" }, KernelMemory: 0, Devices: [] });
    expect(options).toEqual({ memory: 64 << 20, cpus: 1.5, pidsLimit: 50, cpusetCpus: "0-1", restart: "always" });
    expect(updateArgs("web", options)).toEqual(["update", "--cpus=1.5", "--cpuset-cpus=0-1", `--memory=${64 << 20}`, "--pids-limit=50", "--restart=always", "--", "web"]);
    expect(parseUpdate({ Memory: 1, RestartPolicy: { Name: "", MaximumRetryCount: 0 } })).toEqual({ memory: 1 });
    expect(() => parseUpdate({ Ulimits: [{ Name: "nofile", Soft: 1, Hard: 2 }] })).toThrow("Ulimits cannot be updated on this engine");
    expect(kindOf(() => parseUpdate({ CpusetCpus: "0 --privileged" }))).toBe("invalid-parameter");
    expect(kindOf(() => parseUpdate({ Memory: -1 }))).toBe("invalid-parameter");
    expect(kindOf(() => parseUpdate({ NanoCpus: 1e9, CpuQuota: 5000 }))).toBe("invalid-parameter");
    expect(kindOf(() => updateArgs("--privileged", {}))).toBe("invalid-parameter");
  });

  it("classes a refused start as dockerd does", () => {
    const missing = startRefused('exec: "nosuch": executable file not found in $PATH') as ApiError;
    expect(missing.kind).toBe("invalid-parameter");
    expect(missing.message).toBe('failed to create task for container: exec: "nosuch": executable file not found in $PATH');
    expect((startRefused("cgroup: no space left on device") as ApiError).kind).toBe("system");
  });
});
