import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/*
 * The layers, and which way imports may point (docs/architecture.md):
 *   routes → service → {nerdctl, docker, registry, archive, io, reference, host}
 * docker may use nerdctl's record types, nothing that runs; nerdctl runs the
 * runner; nothing but the composition root (daemon.ts, bin/) and routes reaches
 * the HTTP layer.
 */

const ROOT = resolve(import.meta.dirname, "..");

/** Each layer, by the path prefix of its files, and the layers it may import from. */
const LAYERS: { name: string; prefix: string; may: string[]; typesFrom?: string[] }[] = [
  { name: "errors", prefix: "lib/errors.ts", may: [] },
  { name: "log", prefix: "lib/log.ts", may: [] },
  { name: "metrics", prefix: "lib/metrics.ts", may: [] },
  { name: "reference", prefix: "lib/reference.ts", may: ["errors"] },
  { name: "io", prefix: "lib/io/", may: ["errors"] },
  { name: "host", prefix: "lib/host/", may: ["errors", "io"] },
  { name: "archive", prefix: "lib/archive/", may: ["errors", "io"] },
  { name: "runner", prefix: "lib/runner/", may: ["errors", "io"] },
  { name: "engine", prefix: "lib/engine/", may: [] },
  { name: "buildkit", prefix: "lib/buildkit/", may: ["reference", "errors", "io"] },
  { name: "nerdctl", prefix: "lib/nerdctl/", may: ["runner", "reference", "errors", "io"] },
  { name: "registry", prefix: "lib/registry/", may: ["reference", "errors", "io"] },
  { name: "docker", prefix: "lib/docker/", may: ["reference", "errors"], typesFrom: ["nerdctl", "registry", "host"] },
  {
    name: "service",
    prefix: "lib/service/",
    may: ["nerdctl", "docker", "registry", "archive", "io", "reference", "errors", "host", "runner", "buildkit", "log"],
  },
  { name: "server", prefix: "lib/server/", may: ["service", "docker", "reference", "errors", "io", "log", "metrics"] },
  { name: "routes", prefix: "routes/", may: ["server", "service", "docker", "reference", "errors"] },
];

/** The composition root and test support wire everything together; they are not a layer. */
const UNLAYERED = ["lib/daemon.ts", "lib/instrumentation.ts", "lib/config.ts", "lib/package-info.ts", "lib/native-memory.ts", "lib/testing/", "lib/architecture.test.ts"];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

const layerOf = (path: string) => LAYERS.find((layer) => path === layer.prefix || path.startsWith(layer.prefix));

interface Arrow {
  from: string;
  to: string;
  typeOnly: boolean;
}

function importsOf(path: string): Arrow[] {
  const text = readFileSync(join(ROOT, path), "utf8");
  const arrows: Arrow[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+"(\.[^"]+)";/gms)) {
    arrows.push({ from: path, to: relative(ROOT, resolve(ROOT, dirname(path), match[2]!)), typeOnly: match[1] !== undefined });
  }
  return arrows;
}

const files = [...sourceFiles("lib"), ...sourceFiles("routes")];


describe("the layers", () => {
  it("puts every file of lib/ and routes/ in a layer", () => {
    const homeless = files.filter((path) => !layerOf(path) && !UNLAYERED.some((prefix) => path.startsWith(prefix)));
    expect(homeless).toEqual([]);
  });

  it("has no import pointing against the layers", () => {
    const wrong: string[] = [];
    for (const arrow of files.flatMap(importsOf)) {
      const from = layerOf(arrow.from);
      const to = layerOf(arrow.to);
      if (!from || !to || from === to) continue;
      if (from.may.includes(to.name)) continue;
      if (arrow.typeOnly && from.typesFrom?.includes(to.name)) continue;
      wrong.push(`${arrow.from} → ${arrow.to}${arrow.typeOnly ? " (types)" : ""}`);
    }
    expect(wrong).toEqual([]);
  });

  it("keeps every file of lib/ under 400 lines", () => {
    const long = files
      .filter((path) => path.startsWith("lib/"))
      .map((path) => ({ path, lines: readFileSync(join(ROOT, path), "utf8").split("\n").length }))
      .filter((file) => file.lines > 400)
      .map((file) => `${file.path}: ${file.lines}`);
    expect(long).toEqual([]);
  });

  it("has each route make one service call and see no engine", () => {
    const heavy: string[] = [];
    for (const path of files.filter((file) => file.startsWith("routes/"))) {
      const text = readFileSync(join(ROOT, path), "utf8");
      const services = [...text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"[^"]*lib\/service\/[^"]+";/g)].flatMap((match) =>
        match[1]!.split(",").map((name) => name.trim()).filter((name) => name && !name.startsWith("type ")),
      );
      const calls = services.reduce((count, name) => count + [...text.matchAll(new RegExp(`\\b${name}\\s*\\(`, "g"))].length, 0);
      if (calls > 1) heavy.push(`${path}: ${calls} service calls`);
    }
    expect(heavy).toEqual([]);
  });
});
