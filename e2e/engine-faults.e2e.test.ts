/**
 * Engine faults: a nerdctld of the suite's own on a managed engine of its own
 * (beside the daemon under test) has its containerd killed during an image
 * load, its buildkitd killed during a build, and its `nerdctl events` child
 * killed while reads run. Bounds: every request answers within ANSWER_BOUND_MS
 * with a clear status (never a hang, never a dropped connection, the daemon
 * never restarted), and the daemon recovers by itself within
 * RECOVERY_BOUND_MS: reads right again, events flowing again, a build working
 * again. A short profile by default (one round of each fault);
 * NERDCTLD_HARDENING_FULL=1 runs FULL_ROUNDS of each and writes its section of
 * e2e/reports/hardening.md.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { packTar } from "../lib/archive/tar-writer.ts";
import { HARDENING_REPORT, writeReportSection } from "../lib/testing/report-section.ts";
import { pingSocket } from "./support/daemon.ts";
import { startExtraDaemon, type ExtraDaemon } from "./support/extra-daemon.ts";
import { writeBusyboxImage, writeLargeImage } from "./support/images.ts";
import { api, errorMessage, jsonOf, type ApiAnswer } from "./support/socket-api.ts";

const FULL = process.env.NERDCTLD_HARDENING_FULL === "1";
const FULL_ROUNDS = 3;
const ROUNDS = FULL ? FULL_ROUNDS : 1;
/** Every request answers within this, engine down or not. */
const ANSWER_BOUND_MS = 15_000;
/** From the kill to reads (events, builds) right again. */
const RECOVERY_BOUND_MS = 60_000;
const READS = ["/v1.43/containers/json?all=1", "/v1.43/images/json", "/v1.43/volumes", "/v1.43/networks", "/v1.43/info"];
const CONTAINER = "faults-c";

const engine = inject("engine");
let daemon: ExtraDaemon;
let work: string;

interface Probe {
  /** ms since the fault. */
  at: number;
  path: string;
  answer: ApiAnswer;
}

interface Outcome {
  fault: string;
  /** The answers seen from the fault to the recovery. */
  probes: Probe[];
  /** ms from the fault to reads right again (or events, or a build); undefined when never within the bound. */
  recoveredMs: number | undefined;
  /** The interrupted operation's answer. */
  interrupted?: ApiAnswer;
  /** Same daemon, still answering, after. */
  daemonAlive: boolean;
  /** The killed process came back with a new pid (or, for the events child, a new child runs). */
  restarted: boolean;
}

const outcomes: Outcome[] = [];
/** The builds tried while buildkitd recovers. */
const watchedBuilds: ApiAnswer[] = [];

const call = (path: string, options: Parameters<typeof api>[2] = {}) => api(daemon.socketPath, path, { timeoutMs: ANSWER_BOUND_MS + 5_000, ...options });

/** A clear answer: in time, a status, and for a failure Docker's {"message"}. */
function unclear(answer: ApiAnswer): string | undefined {
  if (answer.status === 0) return answer.failure ?? "no answer";
  if (answer.ms > ANSWER_BOUND_MS) return `answered after ${answer.ms} ms`;
  if (answer.status >= 400 && typeof jsonOf<{ message?: unknown }>(answer)?.message !== "string") return `${answer.status} without a message: ${answer.body.slice(0, 200)}`;
  return undefined;
}

/** Reads right: every listing answers 200, the container and the image the suite made are in them. */
async function readsRight(): Promise<boolean> {
  const answers = await Promise.all(READS.map((path) => call(path)));
  if (answers.some((answer) => answer.status !== 200)) return false;
  const containers = jsonOf<{ Names: string[] }[]>(answers[0]!) ?? [];
  const images = jsonOf<{ RepoTags: string[] | null }[]>(answers[1]!) ?? [];
  return containers.some((container) => container.Names.includes(`/${CONTAINER}`)) && images.some((image) => image.RepoTags?.includes("busybox:latest"));
}

/** Probes every read every 100 ms from the fault until `recovered` says so (or the bound passes). */
async function probeUntil(faultAt: number, recovered: () => Promise<boolean>): Promise<{ probes: Probe[]; recoveredMs: number | undefined }> {
  const probes: Probe[] = [];
  while (Date.now() - faultAt < RECOVERY_BOUND_MS) {
    const round = READS.map(async (path) => {
      const at = Date.now() - faultAt;
      probes.push({ at, path, answer: await call(path) });
    });
    await Promise.all(round);
    if (await recovered()) return { probes, recoveredMs: Date.now() - faultAt };
    await sleep(100);
  }
  return { probes, recoveredMs: undefined };
}

const pidFile = (name: string) => `${daemon.dir.engine}/s/${name}.pid`;
async function enginePid(name: "containerd" | "buildkitd"): Promise<number> {
  return Number((await daemon.shell(`cat ${pidFile(name)}`)).stdout.trim());
}

/** Pids of the daemon's `nerdctl events` children. */
async function eventChildren(): Promise<number[]> {
  const script = `for p in /proc/[0-9]*; do [ "$(cut -d' ' -f4 $p/stat 2>/dev/null)" = ${daemon.pid} ] && tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q ' events ' && echo \${p#/proc/}; done; true`;
  return (await daemon.shell(script)).stdout.split("\n").filter(Boolean).map(Number);
}

/** nerdctl on the daemon's engine, as another user of the engine would run it (not through nerdctld). */
function outsideNerdctl(args: string): ReturnType<ExtraDaemon["shell"]> {
  const state = `${daemon.dir.engine}/s`;
  return daemon.shell(`CONTAINERD_ADDRESS=${state}/containerd/containerd.sock NERDCTL_TOML=${state}/nerdctl.toml ${engine.nerdctl} ${args}`);
}

/** ms from the fault to an image event on a fresh GET /events, for a tag made outside nerdctld; tried again until the bound. */
async function eventsFlowing(faultAt: number): Promise<number | undefined> {
  let attempt = 0;
  while (Date.now() - faultAt < RECOVERY_BOUND_MS) {
    const tag = `faults/outside:${++attempt}-${Date.now()}`;
    const seen = (body: string) => body.includes(`"${tag}"`) || body.includes(`"${tag.split(":")[0]}"`);
    const listening = call(`/v1.43/events?filters=${encodeURIComponent(JSON.stringify({ type: ["image"] }))}`, { timeoutMs: 5_000, until: seen });
    await sleep(300);
    await outsideNerdctl(`tag busybox ${tag}`);
    const answer = await listening;
    const arrivedMs = Date.now() - faultAt;
    await outsideNerdctl(`rmi ${tag}`);
    if (answer.status === 200 && seen(answer.body)) return arrivedMs;
    await sleep(200);
  }
  return undefined;
}

/** ms from now to the first images listing that has the tag (every 50 ms, up to the bound). */
async function listedAfter(tag: string): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < RECOVERY_BOUND_MS) {
    const images = jsonOf<{ RepoTags: string[] | null }[]>(await call("/v1.43/images/json")) ?? [];
    if (images.some((image) => image.RepoTags?.includes(tag))) return Date.now() - started;
    await sleep(50);
  }
  return undefined;
}

/** A build context: a Dockerfile and nothing else. */
function context(dockerfile: string): Readable {
  return Readable.from(packTar([{ type: "file", name: "Dockerfile", mode: 0o644, content: Buffer.from(dockerfile) }]));
}

/** A classic-builder build; ok when the stream ends with the built image and no error. */
async function build(dockerfile: string, tag: string): Promise<{ answer: ApiAnswer; ok: boolean; error?: string }> {
  const answer = await call(`/v1.43/build?t=${encodeURIComponent(tag)}&rm=1`, { method: "POST", headers: { "Content-Type": "application/x-tar" }, body: context(dockerfile) });
  const lines = answer.body.split("\n").filter(Boolean).map((line) => jsonOf<{ error?: string; aux?: { ID?: string } }>({ ...answer, body: line }) ?? {});
  const error = answer.status === 200 ? lines.find((line) => line.error)?.error : (jsonOf<{ message?: string }>(answer)?.message ?? answer.failure);
  return { answer, ok: answer.status === 200 && !error && lines.some((line) => line.aux?.ID), ...(error ? { error } : {}) };
}

async function daemonAlive(): Promise<boolean> {
  return (await pingSocket(daemon.socketPath)) && (await daemon.shell(`kill -0 ${daemon.pid}`)).exitCode === 0;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-faults-"));
  daemon = await startExtraDaemon(engine, { name: "faults", flags: ["--debug"], managedEngine: true });
  const busybox = await writeBusyboxImage(join(work, "busybox.tar"));
  const loaded = await call("/v1.43/images/load", { method: "POST", headers: { "Content-Type": "application/x-tar" }, body: createReadStream(busybox.path) });
  if (loaded.status !== 200 || /errorDetail/.test(loaded.body)) throw new Error(`loading busybox: ${loaded.status} ${loaded.body}`);
  const created = await call(`/v1.43/containers/create?name=${CONTAINER}`, { method: "POST", body: { Image: "busybox", Cmd: ["true"] } });
  if (created.status !== 201) throw new Error(`creating ${CONTAINER}: ${created.status} ${created.body}`);
}, 300_000);

afterAll(async () => {
  const log = daemon ? await daemon.log() : "";
  await daemon?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  if (outcomes.some((outcome) => outcome.recoveredMs === undefined)) console.error(`nerdctld faults log (end):\n${log.split("\n").slice(-80).join("\n")}`);
}, 300_000);

describe("engine faults", () => {
  it(`containerd killed during an image load: clear answers while down, reads right again by themselves (${ROUNDS} round(s))`, { timeout: ROUNDS * 180_000 }, async () => {
    const large = await writeLargeImage(join(work, "large.tar"), { sizeBytes: 48 * 1024 * 1024, reference: "faults/large:1" });
    for (let round = 0; round < ROUNDS; round++) {
      const before = await enginePid("containerd");
      // The archive trickles in (some 8 MB/s), so the load is under way when containerd goes.
      const trickle = Readable.from(
        (async function* () {
          for await (const chunk of createReadStream(large.path, { highWaterMark: 256 * 1024 })) {
            yield chunk;
            await sleep(30);
          }
        })(),
      );
      const load = call("/v1.43/images/load", { method: "POST", headers: { "Content-Type": "application/x-tar" }, body: trickle, timeoutMs: 120_000 });
      await sleep(1_500);
      const faultAt = Date.now();
      await daemon.shell(`kill -9 ${before}`);
      const [watched, interrupted] = await Promise.all([probeUntil(faultAt, readsRight), load]);
      const after = await enginePid("containerd");
      outcomes.push({ fault: "containerd killed during an image load", ...watched, interrupted, daemonAlive: await daemonAlive(), restarted: after !== before && after > 0 });
      await call(`/v1.43/images/${encodeURIComponent("faults/large:1")}?force=1`, { method: "DELETE" });
    }
    for (const outcome of outcomes.filter((entry) => entry.fault.startsWith("containerd"))) {
      expect(outcome.probes.map((probe) => unclear(probe.answer)).filter(Boolean)).toEqual([]);
      expect(unclear(outcome.interrupted!)).toBeUndefined();
      expect(outcome).toMatchObject({ daemonAlive: true, restarted: true });
      expect(outcome.recoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
    }
    // And the engine's events reach clients again.
    const eventsAt = Date.now();
    expect(await eventsFlowing(eventsAt)).toBeLessThan(RECOVERY_BOUND_MS);
  });

  it(`buildkitd killed during a build: the build ends with an error, reads stay right, builds work again by themselves (${ROUNDS} round(s))`, { timeout: ROUNDS * 180_000 }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const before = await enginePid("buildkitd");
      const running = build(`FROM busybox\nRUN echo round ${round} ${Date.now()} && sleep 30\n`, `faults/slow:${round}`);
      await sleep(4_000);
      const faultAt = Date.now();
      await daemon.shell(`kill -9 ${before}`);
      const interrupted = await running;
      let recoveredMs: number | undefined;
      const watched = await probeUntil(faultAt, async () => {
        if (!(await readsRight())) return false;
        const again = await build(`FROM busybox\nRUN echo again ${round} ${Date.now()}\n`, `faults/again:${round}`);
        watchedBuilds.push(again.answer);
        if (again.ok) recoveredMs = Date.now() - faultAt;
        return again.ok;
      });
      const after = await enginePid("buildkitd");
      outcomes.push({ fault: "buildkitd killed during a build", probes: [...watched.probes, ...watchedBuilds.splice(0).map((answer) => ({ at: 0, path: "/build", answer }))], recoveredMs, interrupted: interrupted.answer, daemonAlive: await daemonAlive(), restarted: after !== before && after > 0 });
      expect(interrupted.ok, interrupted.answer.body.slice(-500)).toBe(false);
      await call(`/v1.43/images/${encodeURIComponent(`faults/again:${round}`)}?force=1`, { method: "DELETE" });
    }
    for (const outcome of outcomes.filter((entry) => entry.fault.startsWith("buildkitd"))) {
      expect(outcome.probes.map((probe) => unclear(probe.answer)).filter(Boolean)).toEqual([]);
      expect(unclear(outcome.interrupted!)).toBeUndefined();
      expect(outcome).toMatchObject({ daemonAlive: true, restarted: true });
      expect(outcome.recoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
    }
  });

  it(`the events child killed while reads run: reads stay right (and fresh), events flow again by themselves (${ROUNDS} round(s))`, { timeout: ROUNDS * 120_000 }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // The source has run a while: this is a death, not a failure to start.
      await sleep(6_000);
      const before = await eventChildren();
      expect(before.length, "the daemon's nerdctl events").toBeGreaterThan(0);
      const faultAt = Date.now();
      await daemon.shell(`kill -9 ${before.join(" ")}`);
      // A change made outside nerdctld right after is in the next reads: they go to nerdctl, never stale.
      const tag = `faults/fresh:${round}`;
      await outsideNerdctl(`tag busybox ${tag}`);
      const [freshMs, watched] = await Promise.all([listedAfter(tag), probeUntil(faultAt, readsRight)]);
      const recoveredMs = await eventsFlowing(faultAt);
      const after = await eventChildren();
      outcomes.push({ fault: "nerdctl events killed while reads run", probes: watched.probes, recoveredMs, daemonAlive: await daemonAlive(), restarted: after.length > 0 && after.every((pid) => !before.includes(pid)) });
      await outsideNerdctl(`rmi ${tag}`);
      // Reads were never stale: the outside tag listed by the first reads after it (nerdctl's, some 1 s under this load).
      expect(freshMs).toBeLessThan(2_000);
    }
    for (const outcome of outcomes.filter((entry) => entry.fault.startsWith("nerdctl events"))) {
      expect(outcome.probes.map((probe) => unclear(probe.answer)).filter(Boolean)).toEqual([]);
      expect(outcome.probes.filter((probe) => probe.answer.status !== 200)).toEqual([]);
      expect(outcome).toMatchObject({ daemonAlive: true, restarted: true });
      expect(outcome.recoveredMs).toBeLessThan(RECOVERY_BOUND_MS);
    }
  });
});

afterAll(() => {
  for (const outcome of outcomes) {
    const statuses = [...new Set(outcome.probes.map((probe) => probe.answer.status))].join("/");
    console.error(`engine faults: ${outcome.fault}: recovered ${outcome.recoveredMs ?? "never"} ms, ${outcome.probes.length} answers (${statuses}), slowest ${Math.max(0, ...outcome.probes.map((probe) => probe.answer.ms))} ms, interrupted ${outcome.interrupted?.status ?? "-"} in ${outcome.interrupted?.ms ?? "-"} ms`);
  }
  if (!FULL || outcomes.length < 3 * ROUNDS) return;
  const faults = [...new Set(outcomes.map((outcome) => outcome.fault))];
  const failed = (outcome: Outcome) => outcome.probes.some((probe) => unclear(probe.answer)) || (outcome.interrupted && unclear(outcome.interrupted)) || !outcome.daemonAlive || !outcome.restarted || outcome.recoveredMs === undefined;
  const verdict = outcomes.every((outcome) => !failed(outcome));
  const statusList = (answers: ApiAnswer[]) => {
    const counts = new Map<number, number>();
    for (const answer of answers) counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => a - b).map(([status, count]) => `${status} × ${count}`).join(", ");
  };
  const rows = faults.map((fault) => {
    const mine = outcomes.filter((outcome) => outcome.fault === fault);
    const answers = mine.flatMap((outcome) => outcome.probes.map((probe) => probe.answer));
    const down = answers.filter((answer) => answer.status !== 200);
    const slowest = Math.max(0, ...answers.map((answer) => answer.ms));
    const slowestDown = Math.max(0, ...down.map((answer) => answer.ms));
    const recovered = mine.map((outcome) => (outcome.recoveredMs === undefined ? "never" : `${(outcome.recoveredMs / 1000).toFixed(1)} s`)).join(", ");
    const interrupted = mine.filter((outcome) => outcome.interrupted).map((outcome) => {
      const answer = outcome.interrupted!;
      const message = (errorMessage(answer) || answer.failure || "").split("\n")[0]!.slice(0, 120);
      return `${answer.status} in ${(answer.ms / 1000).toFixed(1)} s${message ? ` (${message})` : ""}`;
    });
    return `| ${fault} | ${answers.length} | ${slowestDown} ms | ${slowest} ms | ${recovered} | ${statusList(answers)} | ${interrupted.join("; ") || "—"} |`;
  });
  writeReportSection(
    HARDENING_REPORT,
    "6-engine-faults",
    [
      "## Engine faults: containerd, buildkitd and the event source killed",
      "",
      `- **Figure**: ${outcomes.length} faults (${FULL_ROUNDS} of each kind); slowest answer while the engine was down ${Math.max(0, ...outcomes.flatMap((outcome) => outcome.probes.filter((probe) => probe.answer.status !== 200).map((probe) => probe.answer.ms)))} ms; slowest recovery ${(Math.max(...outcomes.map((outcome) => outcome.recoveredMs ?? Infinity)) / 1000).toFixed(1)} s; ${outcomes.filter((outcome) => !outcome.daemonAlive).length} daemon restarts.`,
      `- **Bound**: every request answers within ${ANSWER_BOUND_MS / 1000} s with a status (a failure with Docker's \`{"message"}\`), no connection dropped; the same daemon process throughout; recovery by itself within ${RECOVERY_BOUND_MS / 1000} s.`,
      `- **Result**: ${verdict ? "pass" : "FAIL"}.`,
      `- **How**: \`NERDCTLD_HARDENING_FULL=1 npx vitest run --project e2e e2e/engine-faults.e2e.test.ts\` (provider ${inject("provider")}). A nerdctld of the test's own on a managed engine of its own (${engine.kind === "host" ? "on the host, in temporary directories" : "inside the engine container"}). containerd gets SIGKILL 1.5 s into a \`docker load\` of a 48 MiB image fed at some 8 MB/s; buildkitd gets SIGKILL 4 s into a build whose RUN sleeps 30 s; the daemon's \`nerdctl events\` child gets SIGKILL after it has run 6 s. From the kill, containers, images, volumes, networks and info are read every 100 ms until they are right again (the seeded container and image listed; after the events child's death, a tag made outside nerdctld right after the kill listed too); then a build must succeed (buildkitd) and a tag made outside must reach a fresh \`GET /events\` (containerd, events child).`,
      "",
      "| fault | answers while recovering | slowest non-200 | slowest answer | recovery (each) | statuses | the interrupted request |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n"),
  );
});
