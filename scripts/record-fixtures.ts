/**
 * Re-records every fixture from a real engine (a managed one in temp dirs).
 *
 *   npm run fixtures:record            rewrite fixtures/
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

const { values } = parseArgs({ options: { check: { type: "boolean" }, out: { type: "string" } } });
const committed = join(import.meta.dirname, "..", "fixtures");
const work = await mkdtemp(join(tmpdir(), "nfx-"));
const out = values.check ? join(work, "fixtures") : (values.out ?? committed);

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
  for (const scenario of SCENARIOS) {
    await scenario.prepare?.(raw, work);
    const dir = join(out, scenario.name);
    await rm(dir, { recursive: true, force: true });
    const recording = new RecordingRunner(runner, dir, versions, normalizer);
    await scenario.record(new Nerdctl(recording), recording);
    console.log(`recorded ${recording.recorded.length} calls into ${dir}`);
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
  await engine.stop();
  await rm(work, { recursive: true, force: true });
}
