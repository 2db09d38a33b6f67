/**
 * nerdctld side by side with dockerd (Debian's 20.10, or the engine already running): the same
 * scenario on both, the same requests and docker commands, their JSON compared by shape. Writes
 * e2e/reports/parity.md and fails on any difference e2e/parity-baseline.json does not accept.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DOCKER_CLIS } from "./support/docker-cli.ts";
import { ensureDockerd, type DockerEngine } from "./support/dockerd.ts";
import {
  API_CHECKS,
  CLI_CHECKS,
  classify,
  compareCheck,
  get,
  observeBoth,
  renderReport,
  seedDockerd,
  type Baseline,
  type CheckResult,
  type Classified,
} from "./support/parity.ts";

const BASELINE_PATH = join(import.meta.dirname, "parity-baseline.json");
const REPORT_PATH = join(import.meta.dirname, "reports", "parity.md");
const CHECKS = [
  ...API_CHECKS.map((check) => check.check),
  ...DOCKER_CLIS.flatMap((cli) => CLI_CHECKS.map((check) => `${cli.name}: ${check.command}`)),
];

const nerdctldHost = inject("dockerHost");
let dockerd: DockerEngine | undefined;
let cleanUp: (() => Promise<void>) | undefined;
let work: string | undefined;
let results: CheckResult[];
let classified: Classified;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "parity-"));
  dockerd = await ensureDockerd();
  const cli = DOCKER_CLIS[0];
  if (!cli) throw new Error("no docker CLI installed");
  cleanUp = await seedDockerd(cli.path, dockerd.dockerHost, work);

  results = await observeBoth({ dockerd: dockerd.dockerHost, nerdctld: nerdctldHost }, DOCKER_CLIS);
  // NERDCTLD_PARITY_DUMP=dir keeps both daemons' raw answers, to see what lies behind a difference.
  const dump = process.env.NERDCTLD_PARITY_DUMP;
  if (dump) {
    await mkdir(dump, { recursive: true });
    await writeFile(join(dump, "observations.json"), `${JSON.stringify(results, null, 2)}\n`);
  }
  // Throws when dockerd itself failed a check: a comparison with a failed reference would mean nothing.
  const differences = results.flatMap(compareCheck);
  const baseline = JSON.parse(await readFile(BASELINE_PATH, "utf8")) as Baseline;
  classified = classify(differences, baseline);

  const version = JSON.parse((await get(dockerd.dockerHost, "/version")).text) as { Version: string; ApiVersion: string };
  await mkdir(join(REPORT_PATH, ".."), { recursive: true });
  await writeFile(REPORT_PATH, renderReport(classified, `dockerd ${version.Version} (API ${version.ApiVersion})`));
}, 300_000);

afterAll(async () => {
  await cleanUp?.();
  await dockerd?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("nerdctld against dockerd", () => {
  it.each(CHECKS)("%s: no difference beyond the baseline", (check) => {
    const fresh = classified.fresh.filter((difference) => difference.check === check);
    expect(fresh, `NEW differences (see e2e/reports/parity.md): fix them, or accept them in e2e/parity-baseline.json with a reason`).toEqual([]);
  });

  it("ran every check, and dockerd answered each with something to compare", () => {
    // A check with no differences must have been compared, not skipped.
    expect(results.map((result) => result.check)).toEqual(CHECKS);
    for (const result of results) expect(result.dockerd.text.length, result.check).toBeGreaterThan(0);
  });
});
