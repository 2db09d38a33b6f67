/**
 * Failures leave nothing: loads of a truncated archive and of one whose
 * manifest is wrong, a pull of an image the local registry does not have,
 * builds with a failing RUN and with a COPY of a file the context lacks,
 * container creations with a field the engine refuses, a missing image and a
 * taken name, and `docker cp` uploads of a broken tar and into a missing
 * directory. Each is sent to a nerdctld of the suite's own (on the engine under
 * test, with a TMPDIR of its own) in a containerd namespace of its own. Bounds:
 * each fails with Docker's error (a 4xx/5xx with a message, or a stream that
 * ends with one), and leaves the namespace's containers, images, volumes and
 * networks, and the daemon's TMPDIR, as they were before it. A short profile
 * by default (each once); NERDCTLD_HARDENING_FULL=1 runs each FULL_REPEATS
 * times and writes its section of e2e/reports/hardening.md.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { packTar, type TarEntry } from "../lib/archive/tar-writer.ts";
import { HARDENING_REPORT, writeReportSection } from "../lib/testing/report-section.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { startEngineRegistry, type EngineRegistry } from "./support/engine-registry.ts";
import { startExtraDaemon, type ExtraDaemon } from "./support/extra-daemon.ts";
import { writeBusyboxImage } from "./support/images.ts";
import { removeNamespace } from "./support/seed.ts";
import { api, errorMessage, jsonOf, type ApiAnswer } from "./support/socket-api.ts";

const FULL = process.env.NERDCTLD_HARDENING_FULL === "1";
const FULL_REPEATS = 5;
const REPEATS = FULL ? FULL_REPEATS : 1;
/** How long a clean-up after the answer may take before what is left counts as left. */
const SETTLE_MS = 5_000;
const TAKEN = "fail-taken";

const engine = inject("engine");
const namespace = `fail-${randomBytes(4).toString("hex")}`;
let daemon: ExtraDaemon;
let registry: EngineRegistry;
let work: string;
let busyboxPath: string;

const call = (path: string, options: Parameters<typeof api>[2] = {}) =>
  api(daemon.socketPath, `/v1.43${path}`, { timeoutMs: 120_000, ...options, headers: { "X-Containerd-Namespace": namespace, ...options.headers } });
const tar = (entries: TarEntry[]) => Readable.from(packTar(entries));
const file = (name: string, content: string): TarEntry => ({ type: "file", name, mode: 0o644, content: Buffer.from(content) });
const post = (path: string, body: unknown, contentType = "application/x-tar") => call(path, { method: "POST", headers: { "Content-Type": contentType }, body });

interface Failure {
  label: string;
  run(): Promise<ApiAnswer>;
}

const FAILURES: Failure[] = [
  {
    label: "load: truncated archive",
    run: async () => {
      const whole = await readFile(busyboxPath);
      return post("/images/load", Readable.from([whole.subarray(0, Math.floor(whole.length / 2))]));
    },
  },
  {
    label: "load: manifest naming blobs the archive lacks",
    run: () =>
      post(
        "/images/load",
        tar([file("manifest.json", JSON.stringify([{ Config: `blobs/sha256/${"0".repeat(64)}`, RepoTags: ["fail/bad:1"], Layers: [`blobs/sha256/${"1".repeat(64)}`] }]))]),
      ),
  },
  { label: "pull: an image the local registry does not have", run: () => call(`/images/create?fromImage=${encodeURIComponent(`${registry.host}/fail/missing`)}&tag=1`, { method: "POST" }) },
  { label: "build: a failing RUN", run: () => post("/build?t=fail/run:1", tar([file("Dockerfile", "FROM busybox\nRUN echo failing && exit 3\n")])) },
  { label: "build: COPY of a file the context lacks", run: () => post("/build?t=fail/copy:1", tar([file("Dockerfile", "FROM busybox\nCOPY missing.txt /missing.txt\n")])) },
  {
    label: "create: a device the host lacks",
    run: () => call("/containers/create?name=fail-device", { method: "POST", body: { Image: "busybox", HostConfig: { Devices: [{ PathOnHost: "/dev/nerdctld-no-such-device", PathInContainer: "/dev/x", CgroupPermissions: "rwm" }] } } }),
  },
  { label: "create: a restart policy that does not exist", run: () => call("/containers/create?name=fail-policy", { method: "POST", body: { Image: "busybox", HostConfig: { RestartPolicy: { Name: "sometimes" } } } }) },
  { label: "create: a missing image", run: () => call("/containers/create?name=fail-noimage", { method: "POST", body: { Image: "fail/none:1" } }) },
  { label: "create: a taken name", run: () => call(`/containers/create?name=${TAKEN}`, { method: "POST", body: { Image: "busybox" } }) },
  { label: "cp: a broken tar", run: () => call(`/containers/${TAKEN}/archive?path=/tmp`, { method: "PUT", headers: { "Content-Type": "application/x-tar" }, body: Readable.from([Buffer.from(`${"not a tar ".repeat(100)}\n`)]) }) },
  { label: "cp: into a missing directory", run: () => call(`/containers/${TAKEN}/archive?path=/no/such/dir`, { method: "PUT", headers: { "Content-Type": "application/x-tar" }, body: tar([file("a.txt", "a\n")]) }) },
];

/** Failed, as a client sees it: an error status with a message, or a stream whose last message is an error. */
function failedClearly(answer: ApiAnswer): boolean {
  if (answer.status >= 400) return typeof jsonOf<{ message?: unknown }>(answer)?.message === "string";
  if (answer.status !== 200) return false;
  const last = answer.body.trim().split("\n").at(-1) ?? "";
  return /"error(Detail)?":/.test(last);
}

/** Every path below dir, relative, directories marked with a trailing slash. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((entry) => `${join(entry.parentPath, entry.name).slice(dir.length + 1)}${entry.isDirectory() ? "/" : ""}`).sort();
}

/** The namespace as nerdctl lists it, and the daemon's TMPDIR. */
async function snapshot(): Promise<Record<string, string[]>> {
  const list = async (...args: string[]) => {
    const result = await engineNerdctl(args, { namespace });
    if (result.exitCode !== 0) throw new Error(`nerdctl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.split("\n").filter(Boolean).sort();
  };
  return {
    containers: await list("ps", "--all", "--no-trunc", "--format", "{{.Names}} {{.ID}}"),
    images: await list("images", "--all", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"),
    volumes: await list("volume", "ls", "--quiet"),
    networks: await list("network", "ls", "--format", "{{.Name}}"),
    tmpdir: await tree(join(daemon.dir.host, "tmp")),
  };
}

/** What is in `after` and not in `before`, as "kind: item". */
function leftovers(before: Record<string, string[]>, after: Record<string, string[]>): string[] {
  return Object.entries(after).flatMap(([kind, items]) => items.filter((item) => !before[kind]!.includes(item)).map((item) => `${kind}: ${item}`));
}

interface Result {
  label: string;
  answer: ApiAnswer;
  clear: boolean;
  left: string[];
}
const results: Result[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-failures-"));
  daemon = await startExtraDaemon(engine, { name: "failures", flags: ["--engine", "external", "--debug"], env: { TMPDIR: "{dir}/tmp" } });
  registry = await startEngineRegistry({ label: "failures", work, dockerHost: inject("dockerHost") });
  busyboxPath = (await writeBusyboxImage(join(work, "busybox.tar"))).path;
  const loaded = await post("/images/load", createReadStream(busyboxPath));
  if (loaded.status !== 200 || /errorDetail/.test(loaded.body)) throw new Error(`loading busybox: ${loaded.status} ${loaded.body}`);
  const created = await call(`/containers/create?name=${TAKEN}`, { method: "POST", body: { Image: "busybox", Cmd: ["sleep", "600"] } });
  if (created.status !== 201) throw new Error(`creating ${TAKEN}: ${created.status} ${created.body}`);
  const started = await call(`/containers/${TAKEN}/start`, { method: "POST" });
  if (started.status !== 204) throw new Error(`starting ${TAKEN}: ${started.status} ${started.body}`);
}, 300_000);

afterAll(async () => {
  await registry?.stop();
  await daemon?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  await removeNamespace(namespace);
  if (!FULL || results.length < FAILURES.length * REPEATS) return;
  const verdict = results.every((result) => result.clear && result.left.length === 0);
  writeReportSection(
    HARDENING_REPORT,
    "5-failures",
    [
      "## Failures leave nothing behind",
      "",
      `- **Figure**: ${results.length} failed operations (${FAILURES.length} kinds × ${REPEATS}); ${results.filter((result) => !result.clear).length} without a clear error, ${results.reduce((sum, result) => sum + result.left.length, 0)} leftovers (containers, images or tags, volumes, networks, files or directories in the daemon's TMPDIR).`,
      `- **Bound**: each fails with Docker's error (a status ≥ 400 with a message, or a stream that ends with an error); 0 leftovers ${SETTLE_MS / 1000} s after its answer.`,
      `- **Result**: ${verdict ? "pass" : "FAIL"}.`,
      `- **How**: \`NERDCTLD_HARDENING_FULL=1 npx vitest run --project e2e e2e/failures.e2e.test.ts\` (provider ${inject("provider")}). A nerdctld of the test's own on the engine under test, with a TMPDIR of its own, every request in the containerd namespace \`fail-<random>\` (X-Containerd-Namespace), which holds busybox and a running container \`${TAKEN}\`; the registry is Debian's docker-registry run in the engine. Before and after each operation: \`nerdctl ps -a\`, \`images -a\`, \`volume ls\` and \`network ls\` in the namespace, and every path below the daemon's TMPDIR.`,
      "",
      "| operation | answers | leftovers |",
      "| --- | --- | --- |",
      ...FAILURES.map((failure) => {
        const mine = results.filter((result) => result.label === failure.label);
        const statuses = [...new Set(mine.map((result) => `${result.answer.status}${result.answer.status === 200 ? " (stream ending with an error)" : ""}`))].join(", ");
        const message = mine[0] ? errorMessage(mine[0].answer).split("\n")[0]!.slice(0, 120) : "";
        return `| ${failure.label} | ${statuses}${message ? `: ${message.replace(/\|/g, "\\|")}` : ""} | ${mine.flatMap((result) => result.left).join("; ") || "none"} |`;
      }),
    ].join("\n"),
  );
});

describe("failures leave nothing", () => {
  it(`each failed load, pull, build, create and cp answers an error and leaves nothing (${FULL ? "full" : "short"} profile)`, { timeout: REPEATS * 300_000 }, async () => {
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      for (const failure of FAILURES) {
        const before = await snapshot();
        const answer = await failure.run();
        let left = leftovers(before, await snapshot());
        for (const deadline = Date.now() + SETTLE_MS; left.length > 0 && Date.now() < deadline; left = leftovers(before, await snapshot())) await sleep(250);
        results.push({ label: failure.label, answer, clear: failedClearly(answer), left });
      }
    }
    expect(results.filter((result) => !result.clear).map((result) => `${result.label}: ${result.answer.status} ${result.answer.failure ?? result.answer.body.slice(-300)}`)).toEqual([]);
    expect(results.filter((result) => result.left.length > 0).map((result) => `${result.label}: ${result.left.join(", ")}`)).toEqual([]);
  });
});
