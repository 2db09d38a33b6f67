/**
 * SIGTERM while streams are open: a nerdctld of the test's own on the engine
 * under test (`--engine external`, `--shutdown-timeout 5`) serves logs -f,
 * events, an attach, an exec and a build in flight when it is told to stop.
 * Bounds: it exits within its shutdown timeout (plus the time to end what is
 * left), every engine program it started has ended, its socket file is gone,
 * every client's connection is closed, and the engine's containers — it does
 * not own the engine — are still running. Its section of
 * e2e/reports/hardening.md is written when NERDCTLD_HARDENING_FULL=1.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { packTar } from "../lib/archive/tar-writer.ts";
import { HARDENING_REPORT, writeReportSection } from "../lib/testing/report-section.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { ENGINE_PROGRAMS, snapshotProcess, terminateAndTime } from "./support/process-tree.ts";
import { jsonCall, openExchange, type RawExchange } from "./support/raw-client.ts";
import { startSecondDaemon, type SecondDaemon } from "./support/second-daemon.ts";
import { removeNamespace, seedNamespace } from "./support/seed.ts";

const FULL = process.env.NERDCTLD_HARDENING_FULL === "1";
const SHUTDOWN_TIMEOUT_S = 5;
/** After the timeout: closing the connections, killing the children, leaving the event loop. */
const EXIT_GRACE_MS = 5_000;

const engine = inject("engine");
const namespace = `shut-${randomBytes(4).toString("hex")}`;
let daemon: SecondDaemon;

const call = (method: string, path: string, body?: unknown) => jsonCall(daemon.socketPath, method, path, body);

async function running(name: string): Promise<boolean> {
  const inspect = await engineNerdctl(["inspect", "--format", "{{.State.Running}}", name], { namespace });
  return inspect.stdout.trim() === "true";
}

/** Waits until the exchange's response holds `text` (a stream that is under way). */
async function until(exchange: RawExchange, text: string, what: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!exchange.received().toString("latin1").includes(text)) {
    if (exchange.socket.destroyed) throw new Error(`${what} ended before it was under way: ${exchange.received().toString("latin1").slice(0, 500)}`);
    if (Date.now() > deadline) throw new Error(`${what} not under way: ${exchange.received().toString("latin1").slice(0, 500)}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  await seedNamespace(namespace);
  daemon = await startSecondDaemon(engine, "shutdown", ["--engine", "external", "--namespace", namespace, "--shutdown-timeout", String(SHUTDOWN_TIMEOUT_S)]);
  const created = await call("POST", "/v1.43/containers/create?name=chatter", { Image: "busybox", Cmd: ["sh", "-c", "while true; do echo tick; sleep 0.2; done"] });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect((await call("POST", "/v1.43/containers/chatter/start")).status).toBe(204);
}, 300_000);

afterAll(async () => {
  await daemon?.stop();
  await removeNamespace(namespace);
}, 300_000);

describe("SIGTERM with streams open", () => {
  it("ends every child, removes its socket, closes every stream and leaves the engine's containers running", { timeout: 300_000 }, async () => {
    const open = (path: string, extra: Partial<Parameters<typeof openExchange>[1]> = {}) => openExchange(daemon.socketPath, { method: "GET", path, ...extra });
    const exec = await call("POST", "/v1.43/containers/chatter/exec", { AttachStdout: true, AttachStderr: true, Cmd: ["sh", "-c", "while true; do echo exec-tick; sleep 0.2; done"] });
    expect(exec.status).toBe(201);
    const chunks: Buffer[] = [];
    const dockerfile = `FROM busybox\nRUN echo build-running-${namespace} && sleep 120\n`;
    for await (const chunk of Readable.from(packTar([{ type: "file", name: "Dockerfile", content: Buffer.from(dockerfile) }]))) chunks.push(chunk as Buffer);
    const streams = {
      "logs -f": open("/v1.43/containers/chatter/logs?follow=1&stdout=1&tail=1"),
      events: open("/v1.43/events"),
      attach: open("/v1.43/containers/chatter/attach?stream=1&stdout=1", { method: "POST", upgrade: true }),
      exec: open(`/v1.43/exec/${(exec.body as { Id: string }).Id}/start`, {
        method: "POST",
        upgrade: true,
        headers: { "Content-Type": "application/json" },
        body: Buffer.from(JSON.stringify({ Detach: false, Tty: false })),
      }),
      build: open(`/v1.43/build?t=${namespace}-build&nocache=1`, { method: "POST", headers: { "Content-Type": "application/x-tar" }, body: Buffer.concat(chunks) }),
    };
    await until(streams["logs -f"], "tick", "logs -f");
    await until(streams.events, "200 OK", "events");
    await until(streams.attach, "tick", "attach");
    await until(streams.exec, "exec-tick", "exec");
    await until(streams.build, `build-running-${namespace}`, "the build");

    const before = await snapshotProcess(engine, daemon.pid);
    const children = before.descendants.filter((entry) => ENGINE_PROGRAMS.has(entry.comm));
    const exitMs = await terminateAndTime(engine, daemon.pid, (SHUTDOWN_TIMEOUT_S * 1000 + EXIT_GRACE_MS) * 2);
    // Whoever is still there of what ran below the daemon, wherever it was reparented to.
    const after = await snapshotProcess(engine, daemon.pid);
    const left = after.all.filter((entry) => children.some((child) => child.pid === entry.pid && child.comm === entry.comm));
    const socketGone = !existsSync(daemon.socketPath);
    const closed = await Promise.all(Object.values(streams).map((exchange) => Promise.race([exchange.closed.then(() => true), sleep(5_000, false)])));
    const streamsClosed = closed.filter(Boolean).length;
    const containers = { chatter: await running("chatter"), web: await running("web") };

    const summary = [
      `- **Figure**: exit ${exitMs === null ? "not within the wait" : `${(exitMs / 1000).toFixed(2)} s`} after SIGTERM (shutdown timeout ${SHUTDOWN_TIMEOUT_S} s) with ${Object.keys(streams).length} streams open (${Object.keys(streams).join(", ")}); ${children.length} engine programs running below it before, ${left.length} left after; socket file ${socketGone ? "gone" : "still there"}; ${streamsClosed} of ${Object.keys(streams).length} client connections closed; the engine's containers running: ${containers.chatter && containers.web ? "yes" : "no"}.`,
      `- **Bound**: exit within the shutdown timeout + ${EXIT_GRACE_MS / 1000} s; 0 programs left; no socket file; every connection closed; the containers still running.`,
    ];
    console.error([`shutdown (provider ${inject("provider")}):`, ...summary, ...children.map((entry) => `child before: ${entry.comm} ${entry.cmdline}`)].join("\n"));
    const verdict = exitMs !== null && exitMs <= SHUTDOWN_TIMEOUT_S * 1000 + EXIT_GRACE_MS && left.length === 0 && socketGone && streamsClosed === closed.length && containers.chatter && containers.web;
    if (FULL) {
      writeReportSection(
        HARDENING_REPORT,
        "7-shutdown",
        [
          "## Shutdown: SIGTERM with streams open",
          "",
          ...summary,
          `- **Result**: ${verdict ? "pass" : "FAIL"}.`,
          `- **How**: \`NERDCTLD_HARDENING_FULL=1 npx vitest run --project e2e e2e/shutdown.e2e.test.ts\` (provider ${inject("provider")}). A nerdctld of the test's own (\`--engine external --shutdown-timeout ${SHUTDOWN_TIMEOUT_S}\`, a namespace of its own) on the engine under test serves logs -f and an attach of a running container, events, an exec start and a build whose RUN step sleeps, each under way (its output seen), when it gets SIGTERM. The time is from the signal until its process is gone, read from /proc where it runs (the engine container under testcontainers); a left program is one of the nerdctl, ctr or buildctl processes below it before the signal that still runs after.`,
        ].join("\n"),
      );
    }

    // The streams that run an engine program of their own were running it: otherwise the figure would not measure their ends.
    const verbs = children.map((entry) => entry.cmdline);
    for (const verb of [/ logs .*--follow/, / exec /, / build /]) expect(verbs.some((cmdline) => verb.test(cmdline)), String(verb)).toBe(true);
    expect(exitMs).not.toBeNull();
    expect(exitMs!).toBeLessThanOrEqual(SHUTDOWN_TIMEOUT_S * 1000 + EXIT_GRACE_MS);
    expect(left.map((entry) => entry.cmdline)).toEqual([]);
    expect(socketGone).toBe(true);
    expect(streamsClosed).toBe(closed.length);
    expect(containers).toEqual({ chatter: true, web: true });
  });
});
