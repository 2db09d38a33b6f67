/**
 * Concurrency: waves of mixed requests sent all at once to the daemon under
 * test, in a containerd namespace of their own (X-Containerd-Namespace):
 * reads of containers, images, volumes, networks and info, and creations and
 * removals of containers, volumes, networks and image tags whose names overlap
 * on purpose, so requests race for the same objects. Bounds: no answer but the
 * expected ones (2xx, 409 for a name another request took, 404 for a thing
 * another request removed); every request answered within ANSWER_BOUND_MS (no
 * deadlock); afterwards the daemon lists exactly what nerdctl lists in the
 * namespace, every container has its name and every tag names an image that
 * inspects. A short profile by default; NERDCTLD_HARDENING_FULL=1 sends
 * FULL_WAVES waves and writes its section of e2e/reports/hardening.md.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { HARDENING_REPORT, writeReportSection } from "../lib/testing/report-section.ts";
import { engineNerdctl } from "./support/engine-client.ts";
import { writeBusyboxImage } from "./support/images.ts";
import { removeNamespace } from "./support/seed.ts";
import { api, jsonOf, type ApiAnswer } from "./support/socket-api.ts";
import { seededRandom } from "./support/seeded-random.ts";

const FULL = process.env.NERDCTLD_HARDENING_FULL === "1";
const WAVE = FULL ? 200 : 60;
const FULL_WAVES = 5;
const WAVES = FULL ? FULL_WAVES : 1;
/** No request waits longer than this: a deadlock would. */
const ANSWER_BOUND_MS = 90_000;
/** Names each kind of object is made under: few, so requests collide. */
const NAMES = 4;

const socketPath = inject("dockerHost").replace(/^unix:\/\//, "");
const namespace = `conc-${randomBytes(4).toString("hex")}`;
const headers = { "X-Containerd-Namespace": namespace };

interface Operation {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  /** Statuses that are right for it in a race. */
  expected: number[];
}

const READS: Operation[] = ["/containers/json?all=1", "/images/json", "/volumes", "/networks", "/info"].map((path) => ({ label: `GET ${path.split("?")[0]}`, method: "GET", path, expected: [200] }));

/** The index-th request of a wave: a third reads, the rest make and remove the few names. */
function operation(index: number, random: () => number): Operation {
  const kind = Math.floor(random() * 12);
  const k = Math.floor(random() * NAMES);
  switch (kind) {
    case 0:
    case 1:
    case 2:
    case 3:
      return READS[Math.floor(random() * READS.length)]!;
    case 4:
      return { label: "create container", method: "POST", path: `/containers/create?name=conc-c${k}`, body: { Image: "busybox", Cmd: ["true"], Labels: { wave: String(index) } }, expected: [201, 409] };
    case 5:
      return { label: "remove container", method: "DELETE", path: `/containers/conc-c${k}?force=1&v=1`, expected: [204, 404, 409] };
    case 6:
      return { label: "create volume", method: "POST", path: "/volumes/create", body: { Name: `conc-v${k}` }, expected: [201, 409] };
    case 7:
      return { label: "remove volume", method: "DELETE", path: `/volumes/conc-v${k}`, expected: [204, 404, 409] };
    case 8:
      return { label: "create network", method: "POST", path: "/networks/create", body: { Name: `conc-n${k}` }, expected: [201, 409] };
    case 9:
      return { label: "remove network", method: "DELETE", path: `/networks/conc-n${k}`, expected: [204, 404, 409] };
    case 10:
      return { label: "tag image", method: "POST", path: `/images/busybox/tag?repo=conc/tag&tag=${k}`, expected: [201, 409] };
    default:
      return { label: "remove tag", method: "DELETE", path: `/images/conc/tag:${k}`, expected: [200, 404, 409] };
  }
}


const call = (path: string, options: Parameters<typeof api>[2] = {}) => api(socketPath, `/v1.43${path}`, { timeoutMs: ANSWER_BOUND_MS, ...options, headers: { ...headers, ...options.headers } });
const lines = (text: string) => text.split("\n").filter(Boolean).sort();
const nerdctlIn = async (...args: string[]) => {
  const result = await engineNerdctl(args, { namespace });
  if (result.exitCode !== 0) throw new Error(`nerdctl ${args.join(" ")}: ${result.stderr}`);
  return lines(result.stdout);
};

/** What the daemon lists against what nerdctl lists; problems as sentences. */
async function inconsistencies(): Promise<string[]> {
  const problems: string[] = [];
  const same = (what: string, daemon: string[], engine: string[]) => {
    const extra = daemon.filter((name) => !engine.includes(name));
    const missing = engine.filter((name) => !daemon.includes(name));
    if (extra.length || missing.length) problems.push(`${what}: the daemon lists ${JSON.stringify(extra)} that nerdctl does not, and not ${JSON.stringify(missing)}`);
  };
  const [containers, images, volumes, networks] = await Promise.all(["/containers/json?all=1", "/images/json", "/volumes", "/networks"].map((path) => call(path)));
  for (const answer of [containers, images, volumes, networks]) if (answer!.status !== 200) problems.push(`a listing answered ${answer!.status}: ${answer!.body}`);
  const containerList = jsonOf<{ Id: string; Names: string[] }[]>(containers!) ?? [];
  for (const container of containerList) if (container.Names.length === 0) problems.push(`container ${container.Id} has no name`);
  same("containers", lines(containerList.map((container) => `${container.Names[0]?.slice(1)} ${container.Id}`).join("\n")), await nerdctlIn("ps", "--all", "--no-trunc", "--format", "{{.Names}} {{.ID}}"));
  const tags = (jsonOf<{ RepoTags: string[] | null }[]>(images!) ?? []).flatMap((image) => image.RepoTags ?? []);
  same("image tags", lines(tags.join("\n")), (await nerdctlIn("images", "--format", "{{.Repository}}:{{.Tag}}")).filter((tag) => tag !== "<none>:<none>"));
  for (const tag of tags) {
    const inspected = await call(`/images/${tag}/json`);
    if (inspected.status !== 200) problems.push(`tag ${tag} is listed but inspecting it answers ${inspected.status}`);
  }
  same("volumes", lines((jsonOf<{ Volumes: { Name: string }[] | null }>(volumes!)?.Volumes ?? []).map((volume) => volume.Name).join("\n")), await nerdctlIn("volume", "ls", "--quiet"));
  same("networks", lines((jsonOf<{ Name: string }[]>(networks!) ?? []).map((network) => network.Name).join("\n")), await nerdctlIn("network", "ls", "--format", "{{.Name}}"));
  return problems;
}

interface Sent {
  operation: Operation;
  answer: ApiAnswer;
}

const sent: Sent[] = [];
const waveProblems: string[][] = [];
const waveMs: number[] = [];
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "nerdctld-conc-"));
  const busybox = await writeBusyboxImage(join(work, "busybox.tar"));
  const loaded = await call("/images/load", { method: "POST", headers: { "Content-Type": "application/x-tar" }, body: createReadStream(busybox.path) });
  if (loaded.status !== 200 || /errorDetail/.test(loaded.body)) throw new Error(`loading busybox: ${loaded.status} ${loaded.body}`);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  await removeNamespace(namespace);
  if (!FULL || waveProblems.length < WAVES) return;
  const unexpected = sent.filter((entry) => !entry.operation.expected.includes(entry.answer.status));
  const slowest = Math.max(...sent.map((entry) => entry.answer.ms));
  const problems = waveProblems.flat();
  const verdict = unexpected.length === 0 && problems.length === 0 && slowest < ANSWER_BOUND_MS;
  const byLabel = new Map<string, Map<number, number>>();
  for (const { operation: op, answer } of sent) {
    const counts = byLabel.get(op.label) ?? new Map<number, number>();
    counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
    byLabel.set(op.label, counts);
  }
  const statusText = (counts: Map<number, number>) => [...counts].sort(([a], [b]) => a - b).map(([status, count]) => `${status} × ${count}`).join(", ");
  const all = new Map<number, number>();
  for (const { answer } of sent) all.set(answer.status, (all.get(answer.status) ?? 0) + 1);
  writeReportSection(
    HARDENING_REPORT,
    "4-concurrency",
    [
      "## Concurrency: racing requests on overlapping names",
      "",
      `- **Figure**: ${sent.length} requests in ${WAVES} waves of ${WAVE} sent at once; ${unexpected.length} unexpected answers, slowest answer ${(slowest / 1000).toFixed(1)} s (a wave took ${waveMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")}), ${problems.length} inconsistencies after the waves.`,
      `- **Bound**: 0 answers but 2xx, 409 (a name another request took, a removal under way) and 404 (a thing another request removed); every answer within ${ANSWER_BOUND_MS / 1000} s; after each wave the daemon lists exactly the containers (name and id), tags, volumes and networks nerdctl lists in the namespace, no container without a name, no tag that does not inspect.`,
      `- **Result**: ${verdict ? "pass" : "FAIL"}.`,
      `- **Statuses**: ${statusText(all)}.`,
      `- **How**: \`NERDCTLD_HARDENING_FULL=1 npx vitest run --project e2e e2e/concurrency.e2e.test.ts\` (provider ${inject("provider")}). Each wave's requests are drawn (seeded) from: reads of containers, images, volumes, networks and info (a third), and creation and removal of containers \`conc-c0…3\`, volumes \`conc-v0…3\`, networks \`conc-n0…3\` and tags \`conc/tag:0…3\`, all in the containerd namespace \`conc-<random>\` (X-Containerd-Namespace), removed afterwards; the comparison is with plain nerdctl in the same namespace.`,
      "",
      "| request | statuses |",
      "| --- | --- |",
      ...[...byLabel].sort(([a], [b]) => a.localeCompare(b)).map(([label, counts]) => `| ${label} | ${statusText(counts)} |`),
      ...(unexpected.length || problems.length ? ["", "Findings:", "", ...[...unexpected.map((entry) => `${entry.operation.label} ${entry.operation.path}: ${entry.answer.status} ${entry.answer.failure ?? entry.answer.body.slice(0, 200)}`), ...problems].slice(0, 40).map((line) => `- ${line.replace(/\n/g, " ")}`)] : []),
    ].join("\n"),
  );
});

describe("concurrency", () => {
  it(`answers ${WAVES} wave(s) of ${WAVE} racing requests as expected, in time, and lists what the engine has after (${FULL ? "full" : "short"} profile)`, { timeout: WAVES * 300_000 }, async () => {
    const random = seededRandom(4);
    for (let wave = 0; wave < WAVES; wave++) {
      const started = Date.now();
      const operations = Array.from({ length: WAVE }, (_, index) => operation(wave * WAVE + index, random));
      const answers = await Promise.all(operations.map((op) => call(op.path, { method: op.method, ...(op.body === undefined ? {} : { body: op.body }) })));
      waveMs.push(Date.now() - started);
      operations.forEach((op, index) => sent.push({ operation: op, answer: answers[index]! }));
      waveProblems.push(await inconsistencies());
    }
    const unexpected = sent.filter((entry) => !entry.operation.expected.includes(entry.answer.status)).map((entry) => `${entry.operation.label} ${entry.operation.path}: ${entry.answer.status} ${entry.answer.failure ?? entry.answer.body.slice(0, 300)}`);
    expect(unexpected).toEqual([]);
    expect(waveProblems.flat()).toEqual([]);
    // Every kind of request was sent, and the names did collide.
    expect(new Set(sent.map((entry) => entry.operation.label)).size).toBe(READS.length + 8);
    expect(sent.some((entry) => entry.answer.status === 409 || entry.answer.status === 404)).toBe(true);
  });
});
