import { describe, expect, it } from "vitest";
import { separateNerdctlLogs, startFailureMessage } from "./container-lifecycle.ts";

describe("an attached start's own words", () => {
  it("tells nerdctl's log lines from the container's output, in both of logrus's forms", () => {
    const split = (text: string) => {
      const { output, said } = separateNerdctlLogs(Buffer.from(text, "latin1"));
      return [output.toString("latin1"), said];
    };
    expect(split('time="2026-12-05T03:19:38Z" level=fatal msg="1 errors:\\n"\n')).toEqual(["", 'time="2026-12-05T03:19:38Z" level=fatal msg="1 errors:\\n"\n']);
    expect(split('time="t" level=warning msg="x" error="y z"\n')[0]).toBe("");
    expect(split("exit\r\n\x1b[31mFATA\x1b[0m[0001] 1 errors:        \n")).toEqual(["exit\r\n", "\x1b[31mFATA\x1b[0m[0001] 1 errors:        \n"]);
    expect(split("hello\n")).toEqual(["hello\n", ""]);
    expect(split("level= is just text\n\xff\xfe")).toEqual(["level= is just text\n\xff\xfe", ""]);
  });

  it("finds why a start failed, whichever starter said it", () => {
    expect(startFailureMessage('time="t" level=fatal msg="1 errors:\\nfailed to create shim task: exec: \\"x\\": not found"\n')).toBe(
      'failed to create shim task: exec: "x": not found',
    );
    expect(startFailureMessage("\x1b[31mFATA\x1b[0m[0000] 1 errors:   \r\nfailed to create shim task: boom   \r\n")).toBe("failed to create shim task: boom");
    expect(startFailureMessage("ctr: failed to create shim task: boom\n")).toBe("failed to create shim task: boom");
    expect(startFailureMessage("just output\n")).toBeUndefined();
  });
});

describe("containerd's own client", () => {
  it("runs in the namespace nerdctl runs in", async () => {
    const { Nerdctl } = await import("./client.ts");
    const runner = {} as ConstructorParameters<typeof Nerdctl>[0];
    expect(new Nerdctl(runner, { namespace: "k8s.io" }).ctrCommand(["task", "start", "--", "abc"])).toEqual({
      program: "ctr",
      args: ["--namespace=k8s.io", "task", "start", "--", "abc"],
    });
    expect(new Nerdctl(runner).ctrCommand(["task", "delete", "--", "abc"]).args).toEqual(["task", "delete", "--", "abc"]);
  });
});

describe("taking over a held container's stdio", () => {
  it("attaches with nerdctl under a terminal, or with containerd's client for a container it started", async () => {
    const { Nerdctl } = await import("./client.ts");
    const { reattach } = await import("./container-lifecycle.ts");
    const calls: { args: readonly string[]; tty: unknown }[] = [];
    const runner = { interactive: (command: { args: string[] }, options?: { tty?: unknown }) => (calls.push({ args: command.args, tty: options?.tty }), {}) };
    const nerdctl = new Nerdctl(runner as unknown as ConstructorParameters<typeof Nerdctl>[0], { namespace: "ns" });
    const id = "a".repeat(64);
    reattach(nerdctl, id, { tty: { columns: 100, rows: 30 }, stdin: true, byContainerd: false });
    reattach(nerdctl, id, { stdin: false, byContainerd: false });
    reattach(nerdctl, id, { stdin: true, byContainerd: true });
    expect(calls.map((call) => call.args.filter((arg) => !arg.startsWith("--detach-keys=")))).toEqual([
      ["--namespace", "ns", "attach", "--", id],
      ["--namespace", "ns", "attach", "--no-stdin", "--", id],
      ["--namespace=ns", "task", "attach", "--", id],
    ]);
    expect(calls[0]!.tty).toEqual({ columns: 100, rows: 30 });
    expect(() => reattach(nerdctl, "-x", { stdin: false, byContainerd: true })).toThrow();
  });
});
