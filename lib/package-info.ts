import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** nerdctld's own package.json, found from here in the source tree and in dist/ alike. */
function readPackageJson(): { version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version: string };
      if (pkg.name === "nerdctld") return pkg;
    } catch {
      // not here; keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) return { version: "0.0.0-dev" };
    dir = parent;
  }
}

export const DAEMON_VERSION = readPackageJson().version;

/** The compiled routes/ next to the compiled lib/ (or the sources when run from them). */
export const ROUTES_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "routes");
