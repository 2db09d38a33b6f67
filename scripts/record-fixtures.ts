/**
 * Re-records every fixture from a real engine (a managed one in temp dirs).
 *
 *   npm run fixtures:record            rewrite fixtures/
 *   npm run fixtures:record -- --only volumes   just those scenarios
 *   npm run fixtures:check             record into a temp dir and fail when
 *                                      nerdctl's output changed shape (drift)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startManagedEngine } from "../lib/engine/managed.ts";
import { Nerdctl } from "../lib/nerdctl/client.ts";
import { version } from "../lib/nerdctl/system.ts";
import { Normalizer } from "../lib/runner/fixture.ts";
import { RealRunner } from "../lib/runner/real.ts";
import { RecordingRunner } from "../lib/runner/recording.ts";
import { writeBusyboxImage } from "../e2e/support/images.ts";
import { compareFixtureDirs } from "./fixture-drift.ts";
import { SCENARIOS } from "./fixture-scenarios.ts";
import { createDaemonApp } from "../lib/server/app.ts";
import { loadRouteFiles } from "../lib/server/route-files.ts";
import { ROUTES_DIR } from "../lib/package-info.ts";
import { send, TEST_FACTS } from "../lib/testing/replay-app.ts";

const { values } = parseArgs({
  options: { check: { type: "boolean" }, out: { type: "string" }, only: { type: "string", multiple: true } },
});
// --only keeps some scenarios' recordings; every scenario before them still runs, in order and whole,
// so that the engine is in the state a full run (and the drift check) leaves it in.
const only = values.only?.length ? new Set(values.only) : undefined;
const last = only ? Math.max(...SCENARIOS.map((scenario, i) => (only.has(scenario.name) ? i : -1))) : SCENARIOS.length - 1;
const committed = join(import.meta.dirname, "..", "fixtures");
const work = await mkdtemp(join(tmpdir(), "nfx-"));
const out = values.check ? join(work, "fixtures") : (values.out ?? committed);

const routes = await loadRouteFiles(ROUTES_DIR);
const engine = await startManagedEngine({ stateDir: join(work, "s"), dataDir: join(work, "d") });
try {
  const runner = new RealRunner({ binaries: { nerdctl: engine.layout.bin.nerdctl }, env: engine.env });
  const raw = new Nerdctl(runner);
  const must = async (args: string[]) => {
    const result = await runner.run(raw.command(args));
    if (result.exitCode !== 0) throw new Error(`setup: nerdctl ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };

  const image = await writeBusyboxImage(join(work, "busybox.tar"));
  await must(["load", "--input", image.path]);
  await must(["--namespace", "k8s.io", "load", "--input", image.path]);
  await must(["run", "--detach", "--name", "web", "busybox", "sleep", "3600"]);
  await must(["run", "--name", "done", "busybox", "true"]);
  await must(["create", "--name", "fresh", "busybox"]);

  const versionReport = await version(raw);
  const versions: Record<string, string> = { nerdctl: versionReport.Client.Version };
  for (const part of versionReport.Server?.Components ?? []) versions[part.Name] = part.Version;

  // One normaliser for the whole run: a container keeps its stand-in id across scenarios.
  const normalizer = new Normalizer({ paths: { [work]: "/tmp/nerdctld-fixture" }, stableIds: [image.imageId.slice(7)] });
  for (const id of (await must(["images", "--all", "--quiet", "--no-trunc"])).split("\n")) {
    if (id) normalizer.keepId(id.replace(/^sha256:/, ""));
  }
  for (const scenario of SCENARIOS.slice(0, last + 1)) {
    await scenario.prepare?.(raw, work);
    const dir = only && !only.has(scenario.name) ? join(work, "discarded", scenario.name) : join(out, scenario.name);
    await rm(dir, { recursive: true, force: true });
    const recording = new RecordingRunner(runner, dir, versions, normalizer);
    const app = createDaemonApp({
      routes,
      services: { nerdctl: new Nerdctl(recording), facts: () => TEST_FACTS },
      daemonVersion: TEST_FACTS.version,
    });
    await scenario.record(new Nerdctl(recording), recording, (path, init) => send(app, path, init));
    if (!only || only.has(scenario.name)) console.log(`recorded ${recording.recorded.length} calls into ${dir}`);
  }

  if (values.check) {
    const drift = await compareFixtureDirs(committed, out);
    if (drift.length) {
      console.error(`nerdctl's output changed shape since the fixtures were recorded:\n${drift.join("\n")}`);
      process.exitCode = 1;
    } else {
      console.log("no drift: every fixture has the shape it was recorded with");
    }
  }
} finally {
  await engine.stop({ removeData: true });
  await rm(work, { recursive: true, force: true });
}
