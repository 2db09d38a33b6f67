import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { frames } from "../docker/stdcopy.ts";
import type { ClientConnection } from "../io/connection.ts";
import type { ExitStatus, InteractiveCommand } from "../runner/types.ts";
import { Attachment, HeldContainer } from "./held-container.ts";

function fakeChild() {
  let exit!: (status: ExitStatus) => void;
  const child = {
    tty: false as const,
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    exited: new Promise<ExitStatus>((resolve) => (exit = resolve)),
    kill: () => {},
  };
  return { child: child as InteractiveCommand, exit, typed: collect(child.stdin), out: child.stdout, err: child.stderr };
}

function collect(stream: PassThrough): { text(): string; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  return { text: () => Buffer.concat(chunks).toString(), ended: new Promise((resolve) => stream.once("end", () => resolve())) };
}

function client(options: Partial<{ stdin: boolean; stdout: boolean; stderr: boolean; detachKeys: Uint8Array }> = {}) {
  const connection: ClientConnection = { input: new PassThrough(), output: new PassThrough(), gone: new AbortController().signal };
  const received = collect(connection.output as PassThrough);
  const attachment = new Attachment(connection, { stdin: false, stdout: true, stderr: true, detachKeys: new Uint8Array(), ...options }, true);
  return { connection, attachment, received, input: connection.input as PassThrough };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("a container's held stdio", () => {
  it("holds output back until the start is confirmed, then gives every client the streams it asked for", async () => {
    const { child, exit, out, err } = fakeChild();
    const held = new HeldContainer(child, false);
    const both = client();
    const errOnly = client({ stdout: false });
    held.join(both.attachment);
    held.join(errOnly.attachment);
    out.write("early\n");
    await tick();
    expect(both.received.text()).toBe("");
    held.settle(true);
    err.write("oops\n");
    await tick();
    exit({ exitCode: 0 });
    await Promise.all([both.attachment.done, errOnly.attachment.done]);
    const payloads = (text: string) => [...frames(Buffer.from(text, "latin1"))].map((f) => `${f.stream}:${f.payload.toString()}`);
    expect(payloads(both.received.text())).toEqual(["1:early\n", "2:oops\n"]);
    expect(payloads(errOnly.received.text())).toEqual(["2:oops\n"]);
  });

  it("keeps a failed start's words out of the clients' stream and gives them to the start", async () => {
    const { child, exit, err } = fakeChild();
    const held = new HeldContainer(child, false);
    const watcher = client();
    held.join(watcher.attachment);
    err.write('time="t" level=fatal msg="1 errors:\\nno such file"\n');
    await tick();
    exit({ exitCode: 1 });
    await tick();
    held.settle(false);
    await watcher.attachment.done;
    expect(watcher.received.text()).toBe("");
    expect(held.nerdctlOutput).toContain("no such file");
  });

  it("passes input on after the start, closes the container's stdin with a stdin-once client's end, and drops detach keys", async () => {
    const { child, typed } = fakeChild();
    const held = new HeldContainer(child, true);
    const typist = client({ stdin: true });
    held.join(typist.attachment);
    typist.input.write("before start\n");
    await tick();
    expect(typed.text()).toBe("");
    held.settle(true);
    await tick();
    typist.input.end("more\n");
    await typed.ended;
    expect(typed.text()).toBe("before start\nmore\n");

    const other = fakeChild();
    const detaching = new HeldContainer(other.child, false);
    const person = client({ stdin: true });
    detaching.join(person.attachment);
    detaching.settle(true);
    await tick();
    person.input.write(Buffer.from([0x61, 0x10, 0x62, 0x10, 0x11, 0x63]));
    await person.attachment.done;
    expect(other.typed.text()).toBe("a\x10b");
    expect(other.child.stdin.writableEnded).toBe(false);
  });
});
